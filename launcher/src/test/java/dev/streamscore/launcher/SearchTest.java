package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.Value;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SearchTest {
  @TempDir Path dir;

  /** Fraud when a weighted sum of two features is high: a linear model's kind of data. */
  private static List<Trainer.Row> linear(int n, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    List<Trainer.Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      double a = random.nextDouble(0, 5_000);
      double b = random.nextInt(0, 20);
      boolean fraud = a / 5_000 + b / 20 + random.nextGaussian() * 0.1 > 1.4;
      rows.add(new Trainer.Row(new double[] {a, b}, fraud));
    }
    return rows;
  }

  /** Fraud inside a band of one feature: no line separates it, a tree of depth 2 does. */
  private static List<Trainer.Row> band(int n, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    List<Trainer.Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      double a = random.nextDouble(0, 5_000);
      rows.add(new Trainer.Row(new double[] {a, random.nextInt(0, 20)}, Math.abs(a - 2_500) < 300));
    }
    return rows;
  }

  @Test
  void aSearchMeasuresTheBaselineOnItsRowsAndSaysWhenTheBaselineRanksAboveItsBest()
      throws Exception {
    // One boosting round of one split: far weaker than the baseline on linear data.
    Search.Outcome weak =
        Search.run(
            Trainer.XGBOOST,
            Search.Space.parse("learning_rate=0.05;rounds=1;max_depth=1", Trainer.XGBOOST),
            "grid",
            1,
            linear(3_000, 1),
            linear(1_000, 2),
            linear(1_000, 3),
            dir,
            line -> {},
            () -> false,
            List.of(),
            t -> {});
    assertThat(weak.baselineRanksFirst()).isTrue();
    assertThat(weak.baselineHeldOut().auc())
        .isGreaterThan(weak.heldOut().auc())
        .isGreaterThan(0.95);
    var metrics = Search.metrics(weak);
    assertThat(metrics.get("baseline_heldout_auc")).isEqualTo(weak.baselineHeldOut().auc());
    assertThat(metrics.get("heldout_positives")).isEqualTo(weak.heldOut().positives());
    assertThat(metrics.get("heldout_auc_se")).isPositive().isLessThan(0.05);

    Search.Outcome strong =
        Search.run(
            Trainer.XGBOOST,
            Search.Space.parse("learning_rate=0.3;rounds=50;max_depth=3", Trainer.XGBOOST),
            "grid",
            1,
            band(3_000, 1),
            band(1_000, 2),
            band(1_000, 3),
            dir,
            line -> {},
            () -> false,
            List.of(),
            t -> {});
    assertThat(strong.baselineRanksFirst()).isFalse();
    assertThat(strong.heldOut().auc()).isGreaterThan(strong.baselineHeldOut().auc());
  }

  /** A search of {@code space} on band rows (2,000 training, 500 validating, 500 held out). */
  private Search.Outcome onBand(
      String space,
      java.util.function.Consumer<String> progress,
      List<Search.Trial> done,
      java.util.function.Consumer<Search.Trial> finished)
      throws Exception {
    return Search.run(
        Trainer.XGBOOST,
        Search.Space.parse(space, Trainer.XGBOOST),
        "grid",
        1,
        band(2_000, 1),
        band(500, 2),
        band(500, 3),
        dir,
        progress,
        () -> false,
        done,
        finished);
  }

  @Test
  void trialsDoneBeforeAreTakenAsTheSearchsFirstAndRefusedWhenTheyAreAnotherSearchs()
      throws Exception {
    String space = "learning_rate=0.05,0.3;rounds=5;max_depth=2";
    List<Search.Trial> finished = new ArrayList<>();
    Search.Outcome whole = onBand(space, line -> {}, List.of(), finished::add);
    assertThat(finished).hasSize(2);
    List<String> lines = new ArrayList<>();
    Search.Outcome resumed = onBand(space, lines::add, finished.subList(0, 1), t -> {});
    assertThat(lines.get(0)).endsWith("(done before)");
    assertThat(resumed.trials())
        .extracting(Search.Trial::parameters)
        .isEqualTo(whole.trials().stream().map(Search.Trial::parameters).toList());
    assertThat(resumed.heldOut().auc()).isEqualTo(whole.heldOut().auc());
    // Another search's trial: refused, not mixed in.
    assertThatThrownBy(() -> onBand(space, line -> {}, finished.subList(1, 2), t -> {}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("trial 1 done was {learning_rate=0.3");
  }

  @Test
  void anAucsStandardErrorShrinksWithMorePositivesAndIsUndefinedWithoutBothClasses() {
    // Hanley and McNeil's formula worked by hand: A = 0.9 on 50 positives and 50 negatives.
    assertThat(Search.aucStandardError(0.9, 50, 50)).isCloseTo(0.0321, within(1e-4));
    assertThat(Search.aucStandardError(0.95, 7, 3_000))
        .isGreaterThan(Search.aucStandardError(0.95, 90, 3_000))
        .isGreaterThan(0.025);
    // A perfect AUC on 7 positives is not certain: taken at half a positive misranked.
    assertThat(Search.aucStandardError(1.0, 7, 3_000))
        .isEqualTo(Search.aucStandardError(1 - 0.5 / 7, 7, 3_000))
        .isGreaterThan(0.02);
    assertThat(Search.aucStandardError(0.9, 0, 10)).isNaN();
    assertThat(Search.aucStandardError(Double.NaN, 10, 10)).isNaN();
  }

  @Test
  void averagePrecisionIsThePrecisionAtEachPositiveAveragedWithTiesTakenTogether() {
    // Ranked: +, -, +, -  -> (1/1 + 2/3) / 2
    assertThat(
            Search.averagePrecision(
                new double[] {0.9, 0.8, 0.7, 0.1}, new boolean[] {true, false, true, false}))
        .isCloseTo((1 + 2.0 / 3) / 2, within(1e-12));
    // One tie group of everything: precision is the base rate.
    assertThat(
            Search.averagePrecision(
                new double[] {0.5, 0.5, 0.5, 0.5}, new boolean[] {true, false, false, false}))
        .isCloseTo(0.25, within(1e-12));
    assertThat(Search.averagePrecision(new double[] {0.1}, new boolean[] {false})).isNaN();
  }

  @Test
  void aSpaceIsParsedWithDefaultsForWhatItLeavesOutAndRefusedInOneLineOtherwise() {
    Search.Space s =
        Search.Space.parse("learning_rate=0.1, 0.3;epochs=10,5", "logistic-regression");
    assertThat(s.learningRates()).containsExactly(0.1, 0.3);
    assertThat(s.epochs()).containsExactly(5, 10);
    assertThat(s.sizes()).containsExactly(0);
    assertThat(Search.Space.parse("", "factorization-machine").grid()).hasSize(8);
    assertThat(Search.Space.parse("", "logistic-regression").grid()).hasSize(8);
    assertThatThrownBy(() -> Search.Space.parse("depth=3", "logistic-regression"))
        .hasMessage("unknown dimension 'depth' for logistic-regression: learning_rate, epochs");
    assertThatThrownBy(() -> Search.Space.parse("epochs=3", "xgboost"))
        .hasMessage("unknown dimension 'epochs' for xgboost: learning_rate, rounds or max_depth");
    Search.Space trees = Search.Space.parse("rounds=40,20;max_depth=3", "xgboost");
    assertThat(trees.epochs()).containsExactly(20, 40);
    assertThat(trees.sizes()).containsExactly(3);
    assertThat(Search.Space.parse("", "xgboost").grid()).hasSize(9);
    assertThatThrownBy(() -> Search.Space.parse("epochs", "logistic-regression"))
        .hasMessage("cannot read 'epochs': each part is NAME=V1,V2,...");
    assertThatThrownBy(() -> Search.Space.parse("epochs=1e3", "logistic-regression"))
        .hasMessage("cannot read the values of epochs: '1e3'");
  }

  @Test
  void aRandomSearchDrawsDistinctConfigurationsTheSameForTheSameSeed() {
    List<double[]> grid = Search.Space.defaults("logistic-regression").grid();
    List<double[]> a = Search.pick(grid, "random:5", 7);
    List<double[]> b = Search.pick(grid, "random:5", 7);
    assertThat(a).hasSize(5);
    for (int i = 0; i < a.size(); i++) {
      assertThat(a.get(i)).isEqualTo(b.get(i));
    }
    assertThat(a.stream().map(c -> c[0]).distinct()).hasSize(5);
    assertThat(Search.pick(grid, "random:99", 7)).hasSize(grid.size());
    assertThatThrownBy(() -> Search.pick(grid, "random:0", 7))
        .hasMessage("--search must be grid or random:N (N from 1 to 9999), got 'random:0'");
  }

  @Test
  void aSplitRefusesALabelThatIsNeverTrueInAPartAndARangeWithoutEvents() {
    List<Event> log = new ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      Event.Builder e =
          Event.newBuilder()
              .setSource("payments")
              .setEntityId("u" + (i % 10))
              .setEventId("t" + i)
              .setEventTimeMs(1_000_000L + i * 1_000L)
              .putFields("amount", Value.newBuilder().setDoubleValue(i % 50).build())
              // Positive only early on: the validation and held-out rows have none.
              .putFields(
                  "is_fraud", Value.newBuilder().setBoolValue(i < 300 && i % 7 == 0).build());
      log.add(e.build());
    }
    FeatureSpec spec = FeatureSpec.shippedPayments();
    List<Double> shares = List.of(0.7, 0.15);
    assertThatThrownBy(
            () ->
                TrainCommand.Split.of(spec, log, "events.payments", "is_fraud", null, null, shares))
        .hasMessage(
            "the label 'is_fraud' is never true in the validation rows (150 rows); nothing to learn"
                + " or measure");
    assertThatThrownBy(
            () ->
                TrainCommand.Split.of(
                    spec,
                    log,
                    "events.payments",
                    "is_fraud",
                    java.time.Instant.ofEpochMilli(1_000_000L + 950_000L),
                    null,
                    shares))
        .hasMessageStartingWith("50 events of events.payments between")
        .hasMessageEndingWith("at least 100 are needed");
    TrainCommand.Split ok =
        TrainCommand.Split.of(
            spec,
            log.subList(0, 300),
            "events.payments",
            "is_fraud",
            null,
            null,
            List.of(0.5, 0.25));
    assertThat(ok.rows()).isEqualTo(300);
    assertThat(ok.train()).hasSize(150);
    assertThat(ok.validation()).hasSize(75);
    assertThat(ok.trainEndMs()).isEqualTo(1_000_000L + 150 * 1_000L);
    assertThat(ok.toMs()).isEqualTo(1_000_000L + 299 * 1_000L + 1);
  }
}
