package dev.streamscore.scoring.monitor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class QualityTest {
  /** AUC by its definition: every (positive, negative) pair, ties counting half. O(n²). */
  static double pairwiseAuc(double[] s, boolean[] y, int n) {
    double right = 0;
    long pairs = 0;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        if (y[i] && !y[j]) {
          pairs++;
          right += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
        }
      }
    }
    return right / pairs;
  }

  /** AUC, log loss and expected calibration error by their definitions, for offline checks. */
  static double[] offline(double[] s, boolean[] y, int n) {
    double logLoss = 0;
    for (int i = 0; i < n; i++) {
      double p = Math.min(1 - 1e-15, Math.max(1e-15, s[i]));
      logLoss += y[i] ? -Math.log(p) : -Math.log(1 - p);
    }
    double ece = 0;
    for (int b = 0; b < 10; b++) {
      double sum = 0;
      long count = 0;
      long positives = 0;
      for (int i = 0; i < n; i++) {
        if (Math.min(9, (int) (s[i] * 10)) == b) {
          sum += s[i];
          count++;
          positives += y[i] ? 1 : 0;
        }
      }
      if (count > 0) {
        ece += (double) count / n * Math.abs(sum / count - (double) positives / count);
      }
    }
    return new double[] {pairwiseAuc(s, y, n), logLoss / n, ece};
  }

  @Test
  void aucLogLossPrecisionRecallAndCalibrationEqualTheirDefinitions() {
    Random random = new Random(1);
    int n = 3_000;
    double[] s = new double[n];
    boolean[] y = new boolean[n];
    for (int i = 0; i < n; i++) {
      y[i] = random.nextDouble() < 0.2;
      // Coarse scores, so that many tie; a few at the ends of [0, 1].
      s[i] =
          Math.min(
              1,
              Math.max(
                  0, Math.round((y[i] ? 0.6 : 0.35) * 100 + 20 * random.nextGaussian()) / 100.0));
    }
    Quality q = QualityMath.of(s, y, n, 0.5);

    double[] offline = offline(s, y, n);
    assertThat(q.auc()).isCloseTo(offline[0], within(1e-12));
    assertThat(q.logLoss()).isCloseTo(offline[1], within(1e-12));
    assertThat(q.calibrationError()).isCloseTo(offline[2], within(1e-12));
    long tp = 0;
    long pp = 0;
    long pos = 0;
    for (int i = 0; i < n; i++) {
      pp += s[i] >= 0.5 ? 1 : 0;
      tp += s[i] >= 0.5 && y[i] ? 1 : 0;
      pos += y[i] ? 1 : 0;
    }
    assertThat(q.precision()).isEqualTo((double) tp / pp);
    assertThat(q.recall()).isEqualTo((double) tp / pos);
    assertThat(q.positives()).isEqualTo(pos);
    long[] perBin = new long[10];
    for (int i = 0; i < n; i++) {
      perBin[Math.min(9, (int) (s[i] * 10))]++;
    }
    assertThat(q.binCount()).containsExactly(perBin);
  }

  @Test
  void oneClassOnlyHasNoAucAndNoPairsHaveNoFigures() {
    Quality oneClass = QualityMath.of(new double[] {0.1, 0.9}, new boolean[] {true, true}, 2, 0.5);
    assertThat(oneClass.auc()).isNaN();
    assertThat(oneClass.logLoss()).isFinite();
    Quality none = QualityMath.of(new double[0], new boolean[0], 0, 0.5);
    assertThat(none.auc()).isNaN();
    assertThat(none.logLoss()).isNaN();
    assertThat(none.calibrationError()).isNaN();
    // A confident miss costs -ln(1e-15), not infinity.
    Quality miss = QualityMath.of(new double[] {0.0}, new boolean[] {true}, 1, 0.5);
    assertThat(miss.logLoss()).isCloseTo(34.538776, within(1e-6));
  }

  private record Pair(String id, long version, double score, boolean label) {}

  @Test
  void theSamePredictionsAndLabelsJoinTheSameWayWhateverOrderTheyAreReadIn() {
    Random random = new Random(2);
    long horizon = 60_000;
    List<Object> records = new ArrayList<>();
    Map<String, Boolean> truth = new HashMap<>();
    long t0 = 1_800_000_000_000L;
    for (int i = 0; i < 2_000; i++) {
      String id = "r" + i;
      long at = t0 + i * 100L;
      // A canary: versions 1 and 2 score the same request.
      records.add(new LabelJoin.Scored(id, "m", 1, random.nextDouble(), at));
      records.add(new LabelJoin.Scored(id, "m", 2, random.nextDouble(), at));
      if (i % 4 != 0) {
        boolean label = random.nextBoolean();
        // Some labels come before their prediction, some after; one in ten too late to join.
        long labelAt =
            at + (i % 10 == 1 ? horizon + 1 : random.nextInt(2 * (int) horizon) - horizon);
        records.add(new Object[] {id, label, labelAt});
        if (i % 10 != 1) {
          truth.put(id, label);
        }
      }
    }
    // The join hands back scores, not ids: every score is drawn once, so it names its request.
    Map<Double, String> idOf = new HashMap<>();
    for (Object r : records) {
      if (r instanceof LabelJoin.Scored p) {
        idOf.put(p.score(), p.id());
      }
    }
    List<Pair> inOrder = joinAll(records, horizon, idOf);
    Collections.shuffle(records, random);
    List<Pair> shuffled = joinAll(records, horizon, idOf);

    assertThat(shuffled).containsExactlyInAnyOrderElementsOf(inOrder);
    assertThat(inOrder).hasSize(2 * truth.size());
    assertThat(inOrder).allSatisfy(p -> assertThat(p.label()).isEqualTo(truth.get(p.id())));
  }

  private static List<Pair> joinAll(List<Object> records, long horizon, Map<Double, String> idOf) {
    List<Pair> pairs = new ArrayList<>();
    List<LabelJoin.Scored> unlabelled = new ArrayList<>();
    LabelJoin join =
        new LabelJoin(
            horizon,
            1_000_000,
            new LabelJoin.Sink() {
              @Override
              public void joined(LabelJoin.Scored p, boolean label) {
                pairs.add(new Pair(idOf.get(p.score()), p.version(), p.score(), label));
              }

              @Override
              public void unlabelled(LabelJoin.Scored p) {
                unlabelled.add(p);
              }
            });
    for (Object r : records) {
      if (r instanceof LabelJoin.Scored p) {
        join.prediction(p);
      } else {
        Object[] l = (Object[]) r;
        join.label((String) l[0], (Boolean) l[1], (Long) l[2]);
      }
    }
    int waiting = join.pending();
    join.expire(Long.MAX_VALUE / 2);
    assertThat(unlabelled).hasSize(waiting);
    assertThat(join.pending()).isZero();
    return pairs;
  }

  @Test
  void whenTooManyWaitTheOldestIsGivenUpAndCounted() {
    List<LabelJoin.Scored> unlabelled = new ArrayList<>();
    LabelJoin join =
        new LabelJoin(
            60_000,
            3,
            new LabelJoin.Sink() {
              @Override
              public void joined(LabelJoin.Scored p, boolean label) {}

              @Override
              public void unlabelled(LabelJoin.Scored p) {
                unlabelled.add(p);
              }
            });
    for (int i = 0; i < 5; i++) {
      join.prediction(new LabelJoin.Scored("r" + i, "m", 1, 0.5, 1_000 + i));
    }
    assertThat(join.pending()).isEqualTo(3);
    assertThat(join.evicted()).isEqualTo(2);
    assertThat(unlabelled)
        .extracting(LabelJoin.Scored::predictedAtMs)
        .containsExactly(1_000L, 1_001L);
  }

  @Test
  void aLiveJoinAccountsForEveryPredictionThroughItsRingsWrappingAndGrowing() {
    Random random = new Random(3);
    long horizon = 10_000;
    long[] joined = new long[1];
    long[] wrong = new long[1];
    long[] unlabelled = new long[1];
    Map<Double, Boolean> truth = new HashMap<>();
    LabelJoin join =
        new LabelJoin(
            horizon,
            // The unlabelled third waits 70 s (horizon and grace): about 2,400 at a time, among
            // 7,000 predictions of the last 70 s, most joined: the ring drops those to make room.
            5_000,
            new LabelJoin.Sink() {
              @Override
              public void joined(LabelJoin.Scored p, boolean label) {
                joined[0]++;
                wrong[0] += truth.get(p.score()) == label ? 0 : 1;
              }

              @Override
              public void unlabelled(LabelJoin.Scored p) {
                unlabelled[0]++;
              }
            });
    int n = 50_000;
    List<Object[]> due = new ArrayList<>(); // labels waiting for their time to be read
    for (int i = 0; i < n; i++) {
      long now = i * 10L; // 100 predictions a second
      double score = random.nextDouble();
      boolean label = random.nextBoolean();
      truth.put(score, label);
      join.prediction(new LabelJoin.Scored("r" + i, "m", 1 + i % 2, score, now));
      if (i % 3 != 0) {
        due.add(new Object[] {"r" + i, label, now + random.nextInt(8_000)});
      }
      for (var it = due.iterator(); it.hasNext(); ) {
        Object[] l = it.next();
        if ((Long) l[2] <= now) {
          join.label((String) l[0], (Boolean) l[1], (Long) l[2]);
          it.remove();
        }
      }
      join.expire(now);
    }
    assertThat(wrong[0]).isZero();
    assertThat(joined[0] + unlabelled[0] + join.pending()).isEqualTo(n);
    // Every label is read within 8 s of its prediction, inside the 10 s horizon and before the
    // prediction could expire: each one read joins.
    long labelled = n - (n + 2) / 3;
    assertThat(joined[0]).isEqualTo(labelled - due.size());
    assertThat(join.evicted()).isZero();
  }
}
