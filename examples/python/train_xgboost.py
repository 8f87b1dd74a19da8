#!/usr/bin/env python3
"""Train XGBoost on streamscore's point-in-time training rows; score vectors with the result.

  streamscore training-data --out rows.csv
  python3 train_xgboost.py train rows.csv --model fraud.json
  streamscore models register fraud.json --name fraud --inputs "$(python3 train_xgboost.py inputs rows.csv)"
  python3 train_xgboost.py predict fraud.json vectors.csv --out scores.csv

`train` reads the manifest beside the rows (rows.csv.manifest.json) for the feature columns and
the label, holds out the latest 15% of rows (the rows are in event-time order per partition; the
split is by event time) for early stopping, keeps the trees up to the best round, and saves the
model in XGBoost's JSON format with the feature names in the order the node must assemble them.

Needs pandas and xgboost (Debian: python3-pandas python3-xgboost). A Parquet file needs pyarrow.
"""
import argparse
import json
import sys

import numpy as np
import pandas as pd
import xgboost as xgb

ID_COLUMNS = ("event_id", "entity_id", "event_time_ms")


def read_rows(path):
    with open(path + ".manifest.json", encoding="utf-8") as f:
        manifest = json.load(f)
    label = manifest["lineage"]["label"].split(".", 1)[1]
    features = [c for c in manifest["columns"] if c not in ID_COLUMNS and c != label]
    frame = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
    return frame, features, label


def auc(labels, scores):
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    positives = labels.sum()
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    return (ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)


def train(args):
    frame, features, label = read_rows(args.rows)
    frame = frame.sort_values("event_time_ms", kind="mergesort")
    x = frame[features].to_numpy(dtype=np.float32)
    y = frame[label].to_numpy(dtype=np.float32)
    cut = int(len(frame) * 0.85)
    if y[:cut].sum() == 0 or y[cut:].sum() == 0:
        sys.exit("train_xgboost: the label is never positive in the training or validation rows")
    train_set = xgb.DMatrix(x[:cut], label=y[:cut], feature_names=features)
    validation = xgb.DMatrix(x[cut:], label=y[cut:], feature_names=features)
    params = {
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "max_depth": args.max_depth,
        "eta": args.eta,
        "nthread": 1,
        "seed": args.seed,
    }
    booster = xgb.train(params, train_set, args.rounds, evals=[(validation, "validation")],
                        early_stopping_rounds=20, verbose_eval=False)
    # Early stopping leaves the later rounds in the booster; the node runs every tree it is given.
    booster = booster[: booster.best_iteration + 1]
    booster.save_model(args.model)
    print("%s: %d trees on %d rows, validation AUC %.4f on %d rows" % (
        args.model, booster.num_boosted_rounds(), cut,
        auc(y[cut:], booster.predict(validation)), len(frame) - cut))


def inputs(args):
    print(",".join(read_rows(args.rows)[1]))


def predict(args):
    booster = xgb.Booster(model_file=args.model)
    vectors = pd.read_csv(args.vectors)
    names = booster.feature_names or list(vectors.columns)
    matrix = xgb.DMatrix(vectors[names].to_numpy(dtype=np.float32), feature_names=names)
    pd.DataFrame({"score": booster.predict(matrix)}).to_csv(args.out, index=False,
                                                           float_format="%.9g")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train", help="train on training-data rows, save a JSON model")
    t.add_argument("rows")
    t.add_argument("--model", required=True)
    t.add_argument("--rounds", type=int, default=300)
    t.add_argument("--max-depth", type=int, default=4)
    t.add_argument("--eta", type=float, default=0.1)
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(run=train)
    i = commands.add_parser("inputs", help="print the feature columns, for models register")
    i.add_argument("rows")
    i.set_defaults(run=inputs)
    p = commands.add_parser("predict", help="score a CSV of vectors with a JSON model")
    p.add_argument("model")
    p.add_argument("vectors")
    p.add_argument("--out", required=True)
    p.set_defaults(run=predict)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
