package dev.streamscore.launcher;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import ml.dmlc.xgboost4j.java.XGBoost;
import ml.dmlc.xgboost4j.java.XGBoostError;

/**
 * Gradient-boosted trees through xgboost4j: {@code binary:logistic} on the raw vectors (trees need
 * no scaling), saved in XGBoost's JSON format with the inputs' names, so the registry can check a
 * registration's input order against them. One output: the fraud probability.
 */
final class XgboostTrainer {
  private XgboostTrainer() {}

  static Trainer.Trained train(List<Trainer.Row> rows, Trainer.Config config, Path file)
      throws IOException {
    int width = rows.get(0).x().length;
    float[] x = new float[rows.size() * width];
    float[] y = new float[rows.size()];
    for (int r = 0; r < rows.size(); r++) {
      double[] v = rows.get(r).x();
      for (int j = 0; j < width; j++) {
        x[r * width + j] = (float) v[j];
      }
      y[r] = rows.get(r).fraud() ? 1 : 0;
    }
    try {
      DMatrix data = new DMatrix(x, rows.size(), width, Float.NaN);
      try {
        data.setLabel(y);
        Map<String, Object> params =
            Map.of(
                "objective",
                "binary:logistic",
                "eta",
                config.learningRate(),
                "max_depth",
                config.size(),
                "tree_method",
                "hist",
                // Deterministic: one thread sums gradients in one order, and the seed is fixed.
                "nthread",
                1,
                "seed",
                config.seed());
        Booster booster = XGBoost.train(data, params, config.epochs(), Map.of(), null, null);
        try {
          List<String> names = TrainingSet.inputNames();
          if (names.size() == width) {
            booster.setFeatureNames(names.toArray(String[]::new));
          }
          booster.saveModel(file.toString());
        } finally {
          booster.dispose();
        }
      } finally {
        data.dispose();
      }
    } catch (XGBoostError e) {
      throw new IOException("xgboost failed: " + e.getMessage().lines().findFirst().orElse(""), e);
    }
    if (rows.stream().noneMatch(Trainer.Row::fraud)) {
      throw new IllegalStateException("the training data holds no fraud; generate more events");
    }
    return new Trainer.Trained(
        file,
        dev.streamscore.proto.v1.ModelFormat.MODEL_FORMAT_XGBOOST_JSON,
        List.of("p_fraud"),
        0);
  }
}
