package dev.streamscore.launcher;

import dev.streamscore.scoring.monitor.Quality;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A search over an algorithm's configurations on time-split rows: each configuration trains on the
 * training rows with early stopping on the validation rows (epochs or rounds tried in ascending
 * order, stopped when the validation log loss stops falling by {@link #MIN_GAIN}), and the best by
 * validation log loss (the first of equals) is trained again on the training and validation rows
 * and scored on the held-out rows. Every score comes from the exported model (ONNX graph or XGBoost
 * JSON), run as a node runs it.
 */
final class Search {
  /** A validation log loss must fall by this much for more epochs to count. */
  static final double MIN_GAIN = 0.001;

  /**
   * Below this many positive rows, an AUC is uncertain by more than about ±0.05 (95%), as wide as
   * the differences between sensible configurations: a ranking on so few is mostly luck.
   */
  static final int FEW_POSITIVES = 30;

  /**
   * What to try.
   *
   * @param learningRates AdaGrad's initial steps, or XGBoost's eta
   * @param epochs the early-stopping schedule (epochs, or XGBoost's rounds), ascending
   * @param sizes factor sizes (factorization machine) or tree depths (XGBoost); {@code [0]} for
   *     logistic regression
   */
  record Space(List<Double> learningRates, List<Integer> epochs, List<Integer> sizes) {
    Space {
      if (learningRates.isEmpty() || epochs.isEmpty() || sizes.isEmpty()) {
        throw new IllegalArgumentException("every dimension of the space needs a value");
      }
      epochs = epochs.stream().sorted().distinct().toList();
    }

    static Space defaults(String algorithm) {
      return switch (algorithm) {
        case Trainer.LOGISTIC_REGRESSION ->
            new Space(
                List.of(0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 4.0), List.of(5, 10, 20), List.of(0));
        case Trainer.XGBOOST ->
            new Space(List.of(0.05, 0.1, 0.3), List.of(50, 100, 200, 400), List.of(2, 4, 6));
        default -> new Space(List.of(0.05, 0.1, 0.2, 0.5), List.of(5, 10), List.of(4, 8));
      };
    }

    /** What the search calls the size dimension for {@code algorithm}, or null when it has none. */
    static String sizeName(String algorithm) {
      return switch (algorithm) {
        case Trainer.FACTORIZATION_MACHINE -> "factors";
        case Trainer.XGBOOST -> "max_depth";
        default -> null;
      };
    }

    /** What the search calls the epochs dimension for {@code algorithm}. */
    static String epochsName(String algorithm) {
      return algorithm.equals(Trainer.XGBOOST) ? "rounds" : "epochs";
    }

    /**
     * Parses {@code learning_rate=0.05,0.1;epochs=2,5;factors=4} (XGBoost: {@code rounds} and
     * {@code max_depth}); dimensions left out keep the algorithm's defaults.
     *
     * @throws IllegalArgumentException naming what cannot be read
     */
    static Space parse(String text, String algorithm) {
      Space d = defaults(algorithm);
      List<Double> rates = d.learningRates();
      List<Integer> epochs = d.epochs();
      List<Integer> sizes = d.sizes();
      String sizeName = sizeName(algorithm);
      String epochsName = epochsName(algorithm);
      for (String part : text.split(";")) {
        if (part.isBlank()) {
          continue;
        }
        int eq = part.indexOf('=');
        if (eq < 1 || eq == part.length() - 1) {
          throw new IllegalArgumentException(
              "cannot read '" + part.strip() + "': each part is NAME=V1,V2,...");
        }
        String name = part.substring(0, eq).strip();
        String[] values = part.substring(eq + 1).split(",");
        try {
          if (name.equals("learning_rate")) {
            rates = Arrays.stream(values).map(v -> Double.parseDouble(v.strip())).toList();
          } else if (name.equals(epochsName)) {
            epochs = Arrays.stream(values).map(v -> Integer.parseInt(v.strip())).toList();
          } else if (name.equals(sizeName)) {
            sizes = Arrays.stream(values).map(v -> Integer.parseInt(v.strip())).toList();
          } else {
            throw new IllegalArgumentException(
                "unknown dimension '"
                    + name
                    + "' for "
                    + algorithm
                    + ": learning_rate, "
                    + epochsName
                    + (sizeName == null ? "" : " or " + sizeName));
          }
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(
              "cannot read the values of " + name + ": '" + part.substring(eq + 1) + "'");
        }
      }
      if (sizeName == null) {
        sizes = List.of(0);
      }
      return new Space(rates, epochs, sizes);
    }

    /** Every configuration (without epochs, which early stopping chooses), in a fixed order. */
    List<double[]> grid() {
      List<double[]> all = new ArrayList<>();
      for (double rate : learningRates) {
        for (int f : sizes) {
          all.add(new double[] {rate, f});
        }
      }
      return all;
    }
  }

  /** One configuration tried: its parameters, epochs run and validation figures. */
  record Trial(Map<String, String> parameters, int epochs, Quality validation, Path model) {}

  /**
   * The search's outcome: every trial, the best, the best's held-out figures, and the baseline's
   * ({@link Trainer.Config#baseline}) on the same rows, trained the same way.
   */
  record Outcome(
      List<Trial> trials,
      int best,
      Trainer.Trained model,
      Quality heldOut,
      double heldOutPrAuc,
      Quality baselineValidation,
      Quality baselineHeldOut) {
    /** Whether the baseline ranks above the search's best by the search's own measure. */
    boolean baselineRanksFirst() {
      return baselineValidation.logLoss() < trials.get(best).validation().logLoss();
    }
  }

  /**
   * Runs the search.
   *
   * @param search {@code grid}, or {@code random:N} (N configurations drawn without replacement)
   * @param progress one line per trial
   * @param cancelled asked between trainings; when true the search stops and returns null
   * @param done the first trials, taken as they are (an interrupted search's; usually none)
   * @param finished handed each new trial as it ends
   * @throws IllegalArgumentException when {@code done} is not how this search begins
   */
  static Outcome run(
      String algorithm,
      Space space,
      String search,
      long seed,
      List<Trainer.Row> train,
      List<Trainer.Row> validation,
      List<Trainer.Row> heldOut,
      Path dir,
      Consumer<String> progress,
      BooleanSupplier cancelled,
      List<Trial> done,
      Consumer<Trial> finished)
      throws IOException {
    List<double[]> configs = pick(space.grid(), search, seed);
    if (done.size() > configs.size()) {
      throw new IllegalArgumentException(
          done.size() + " trials done of a search of " + configs.size());
    }
    List<Trial> trials = new ArrayList<>();
    int best = -1;
    for (int i = 0; i < configs.size(); i++) {
      double rate = configs.get(i)[0];
      int size = (int) configs.get(i)[1];
      if (i < done.size()) {
        Trial t = done.get(i);
        if (!t.parameters().get("learning_rate").equals(Double.toString(rate))
            || (Space.sizeName(algorithm) != null
                && !t.parameters().get(Space.sizeName(algorithm)).equals(Integer.toString(size)))) {
          throw new IllegalArgumentException(
              "trial " + (i + 1) + " done was " + t.parameters() + ", not this search's");
        }
        trials.add(t);
        if (best < 0 || t.validation().logLoss() < trials.get(best).validation().logLoss()) {
          best = i;
        }
        progress.accept(
            String.format(
                Locale.ROOT,
                "trial %d/%d %s: validation AUC %.4f, log loss %.4f (done before)",
                i + 1,
                configs.size(),
                t.parameters(),
                t.validation().auc(),
                t.validation().logLoss()));
        continue;
      }
      Trainer.Trained kept = null;
      Quality keptQuality = null;
      int keptEpochs = 0;
      long started = System.nanoTime();
      for (int epochs : space.epochs()) {
        if (cancelled.getAsBoolean()) {
          return null;
        }
        Trainer.Trained model =
            Trainer.train(
                train,
                new Trainer.Config(algorithm, rate, epochs, size, seed),
                dir.resolve("trial-" + i + "-" + epochs + Trainer.extension(algorithm)));
        Quality q = quality(model, validation);
        if (kept != null && !(q.logLoss() <= keptQuality.logLoss() - MIN_GAIN)) {
          break; // early stopping: more epochs no longer lower the validation log loss
        }
        kept = model;
        keptQuality = q;
        keptEpochs = epochs;
      }
      Map<String, String> parameters = new LinkedHashMap<>();
      parameters.put("learning_rate", Double.toString(rate));
      if (Space.sizeName(algorithm) != null) {
        parameters.put(Space.sizeName(algorithm), Integer.toString(size));
      }
      parameters.put(Space.epochsName(algorithm), Integer.toString(keptEpochs));
      Trial trial = new Trial(parameters, keptEpochs, keptQuality, kept.file());
      trials.add(trial);
      finished.accept(trial);
      if (best < 0 || keptQuality.logLoss() < trials.get(best).validation().logLoss()) {
        best = i;
      }
      progress.accept(
          String.format(
              Locale.ROOT,
              "trial %d/%d %s: validation AUC %.4f, log loss %.4f (%.1f s)",
              i + 1,
              configs.size(),
              parameters,
              keptQuality.auc(),
              keptQuality.logLoss(),
              (System.nanoTime() - started) / 1e9));
    }
    // The best configuration trained again on the training and validation rows together, as the
    // search's answer: the rows closest in time to the held-out ones count.
    Search.Trial chosen = trials.get(best);
    List<Trainer.Row> both = new ArrayList<>(train);
    both.addAll(validation);
    Trainer.Trained winner =
        Trainer.train(
            both,
            new Trainer.Config(
                algorithm, configs.get(best)[0], chosen.epochs(), (int) configs.get(best)[1], seed),
            dir.resolve("best" + Trainer.extension(algorithm)));
    double[] scores = scores(winner, heldOut);
    boolean[] labels = labels(heldOut);
    // The baseline, a fixed recipe, measured as the best was: whether the search paid for itself.
    if (cancelled.getAsBoolean()) {
      return null;
    }
    Trainer.Config baseline = Trainer.Config.baseline(seed);
    Quality baselineValidation =
        quality(
            Trainer.train(train, baseline, dir.resolve("baseline-validation.onnx")), validation);
    Quality baselineHeldOut =
        quality(Trainer.train(both, baseline, dir.resolve("baseline.onnx")), heldOut);
    return new Outcome(
        trials,
        best,
        winner,
        Quality.of(scores, labels, 0.5),
        averagePrecision(scores, labels),
        baselineValidation,
        baselineHeldOut);
  }

  /**
   * The standard error of an AUC measured on {@code positives} and {@code negatives} rows (Hanley
   * and McNeil, 1982): what a held-out AUC can tell apart. The formula's variance vanishes at an
   * AUC of 0 or 1, which on a few positives is luck as much as anything: it is taken there at half
   * a positive misranked.
   */
  static double aucStandardError(double measured, long positives, long negatives) {
    if (positives < 1 || negatives < 1 || !Double.isFinite(measured)) {
      return Double.NaN;
    }
    double margin = 0.5 / Math.min(positives, negatives);
    double auc = Math.max(margin, Math.min(1 - margin, measured));
    double q1 = auc / (2 - auc);
    double q2 = 2 * auc * auc / (1 + auc);
    double variance =
        (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc))
            / ((double) positives * negatives);
    return Math.sqrt(Math.max(0, variance));
  }

  /** The configurations a search tries: all of them, or N drawn without replacement. */
  static List<double[]> pick(List<double[]> grid, String search, long seed) {
    if (search.equals("grid")) {
      return grid;
    }
    if (search.matches("random:[1-9][0-9]{0,3}")) {
      int n = Math.min(Integer.parseInt(search.substring(7)), grid.size());
      List<double[]> pool = new ArrayList<>(grid);
      SplittableRandom random = new SplittableRandom(seed);
      List<double[]> picked = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        picked.add(pool.remove(random.nextInt(pool.size())));
      }
      return picked;
    }
    throw new IllegalArgumentException(
        "--search must be grid or random:N (N from 1 to 9999), got '" + search + "'");
  }

  static Quality quality(Trainer.Trained model, List<Trainer.Row> rows) {
    return Quality.of(scores(model, rows), labels(rows), 0.5);
  }

  private static double[] scores(Trainer.Trained model, List<Trainer.Row> rows) {
    float[][] out = TrainingSet.outputs(model, rows);
    double[] scores = new double[rows.size()];
    for (int i = 0; i < scores.length; i++) {
      scores[i] = out[i][model.fraudColumn()];
    }
    return scores;
  }

  private static boolean[] labels(List<Trainer.Row> rows) {
    boolean[] labels = new boolean[rows.size()];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = rows.get(i).fraud();
    }
    return labels;
  }

  /**
   * Area under the precision-recall curve as average precision: the mean, over positives, of the
   * precision at each positive's score (ties ranked together, as a threshold would take them).
   */
  static double averagePrecision(double[] scores, boolean[] labels) {
    Integer[] order = new Integer[scores.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Double.compare(scores[b], scores[a]));
    long positives = 0;
    for (boolean l : labels) {
      positives += l ? 1 : 0;
    }
    if (positives == 0) {
      return Double.NaN;
    }
    double sum = 0;
    long seen = 0;
    long truePositives = 0;
    int i = 0;
    while (i < order.length) {
      int j = i;
      long tiedPositives = 0;
      while (j < order.length && scores[order[j]] == scores[order[i]]) {
        tiedPositives += labels[order[j]] ? 1 : 0;
        j++;
      }
      seen += j - i;
      truePositives += tiedPositives;
      sum += tiedPositives * ((double) truePositives / seen);
      i = j;
    }
    return sum / positives;
  }

  /** The figures a run records, by name. */
  static Map<String, Double> metrics(Outcome o) {
    Map<String, Double> m = new TreeMap<>();
    Quality v = o.trials().get(o.best()).validation();
    m.put("validation_auc", v.auc());
    m.put("validation_log_loss", v.logLoss());
    m.put("heldout_auc", o.heldOut().auc());
    m.put("heldout_pr_auc", o.heldOutPrAuc());
    m.put("heldout_log_loss", o.heldOut().logLoss());
    m.put("heldout_calibration_error", o.heldOut().calibrationError());
    m.put("heldout_precision", o.heldOut().precision());
    m.put("heldout_recall", o.heldOut().recall());
    m.put("heldout_positives", (double) o.heldOut().positives());
    m.put(
        "heldout_auc_se",
        aucStandardError(
            o.heldOut().auc(),
            o.heldOut().positives(),
            o.heldOut().labelled() - o.heldOut().positives()));
    m.put("validation_positives", (double) v.positives());
    m.put("baseline_validation_log_loss", o.baselineValidation().logLoss());
    m.put("baseline_heldout_auc", o.baselineHeldOut().auc());
    m.values().removeIf(x -> !Double.isFinite(x));
    return m;
  }
}
