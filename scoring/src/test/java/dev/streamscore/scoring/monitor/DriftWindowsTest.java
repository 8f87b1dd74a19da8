package dev.streamscore.scoring.monitor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamscore.modelsync.Profiles;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.ReferenceProfile;
import dev.streamscore.proto.v1.Score;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DriftWindowsTest {
  /** The alert rule's thresholds (deploy/monitoring/alerts.yml): PSI above 0.1 on 1,000 rows. */
  static final double PSI_ALERT = 0.1;

  static final long MINUTE = 60_000;
  static final long T0 = 1_800_000_000_000L - Math.floorMod(1_800_000_000_000L, MINUTE);
  static final int INPUTS = 4;
  static final MonitorConfig FIVE_MINUTES =
      new MonitorConfig(
          Duration.ofMinutes(1),
          List.of(new MonitorConfig.Window("5m", Duration.ofMinutes(5))),
          1_000);

  /** Four independent inputs: three normal, one a count; the score depends on input 0. */
  static double[] inputs(Random random, double shift) {
    return new double[] {
      random.nextGaussian(),
      10 + 3 * random.nextGaussian() + 3 * shift,
      random.nextInt(6),
      100 * Math.exp(0.5 * random.nextGaussian())
    };
  }

  static double score(double[] x) {
    return 1 / (1 + Math.exp(-x[0]));
  }

  /** The profile of {@code n} rows, as a training path would register it. */
  static ReferenceProfile profile(int n, long seed) {
    Random random = new Random(seed);
    double[][] columns = new double[INPUTS][n];
    double[] scores = new double[n];
    for (int r = 0; r < n; r++) {
      double[] x = inputs(random, 0);
      for (int i = 0; i < INPUTS; i++) {
        columns[i][r] = x[i];
      }
      scores[r] = score(x);
    }
    ReferenceProfile.Builder p = ReferenceProfile.newBuilder();
    for (int i = 0; i < INPUTS; i++) {
      p.addInputs(Profiles.distribution("x" + i, columns[i], null));
    }
    return p.addOutputs(Profiles.distribution("p", scores, null)).build();
  }

  static Prediction prediction(double[] x, long atMs) {
    Prediction.Builder p =
        Prediction.newBuilder().setModelName("m").setModelVersion(1).setPredictedAtMs(atMs);
    for (double v : x) {
      p.addFeatures((float) v);
    }
    return p.addScores(Score.newBuilder().setName("p").setValue(score(x))).build();
  }

  /** Columns whose 5-minute drift would raise the alert at {@code nowMs}. */
  static List<String> alerting(DriftWindows w, long nowMs) {
    List<String> out = new ArrayList<>();
    for (ColumnDrift d : w.drift(nowMs)) {
      if (d.rows() >= 1_000 && d.psi() > PSI_ALERT) {
        out.add(d.name());
      }
    }
    return out;
  }

  @Test
  void aHalfStandardDeviationShiftOfOneInputAlertsWithinTwoWindowsAndNoOtherInputDoes() {
    DriftWindows w = new DriftWindows("m", 1, profile(20_000, 1), FIVE_MINUTES);
    Random random = new Random(2);
    int perMinute = 400;
    int shiftAt = 30;
    int firstAlert = -1;
    for (int minute = 0; minute < 60; minute++) {
      for (int i = 0; i < perMinute; i++) {
        long at = T0 + minute * MINUTE + i * (MINUTE / perMinute);
        w.observe(prediction(inputs(random, minute >= shiftAt ? 0.5 : 0), at), at);
      }
      long end = T0 + (minute + 1) * MINUTE - 1;
      List<String> alerts = alerting(w, end);
      if (minute < shiftAt) {
        assertThat(alerts).as("minute %d, before the shift", minute).isEmpty();
      } else {
        assertThat(alerts).as("minute %d, after the shift", minute).isSubsetOf("x1");
        if (firstAlert < 0 && alerts.contains("x1")) {
          firstAlert = minute;
        }
      }
    }
    assertThat(firstAlert - shiftAt).as("minutes from the shift to the alert").isBetween(0, 9);
    ColumnDrift x1 =
        w.drift(T0 + 60 * MINUTE - 1).stream().filter(d -> d.name().equals("x1")).findFirst().get();
    assertThat(x1.psi()).isBetween(0.15, 0.35);
    assertThat(x1.ks()).isBetween(0.12, 0.28);
  }

  @Test
  void fiftyWindowsWithoutAShiftRaiseNoAlert() {
    DriftWindows w = new DriftWindows("m", 1, profile(20_000, 3), FIVE_MINUTES);
    Random random = new Random(4);
    for (int window = 0; window < 50; window++) {
      for (int minute = 0; minute < 5; minute++) {
        long base = T0 + (window * 5L + minute) * MINUTE;
        for (int i = 0; i < 300; i++) {
          w.observe(prediction(inputs(random, 0), base + i * 200), base + i * 200);
        }
      }
      long end = T0 + (window + 1) * 5 * MINUTE - 1;
      assertThat(alerting(w, end)).as("window %d", window).isEmpty();
      assertThat(w.drift(end)).allSatisfy(d -> assertThat(d.rows()).isEqualTo(1_500));
    }
  }

  @Test
  void tenMillionRowsFromTheReferenceDistributionRaiseNoAlert() {
    MonitorConfig hour =
        new MonitorConfig(
            Duration.ofMinutes(1), List.of(new MonitorConfig.Window("1h", Duration.ofHours(1))), 1);
    DriftWindows w = new DriftWindows("m", 1, profile(20_000, 5), hour);
    Random random = new Random(6);
    int n = 10_000_000;
    Prediction.Builder p = prediction(inputs(random, 0), T0).toBuilder();
    for (int r = 0; r < n; r++) {
      double[] x = inputs(random, 0);
      long at = T0 + (long) r * 59 * MINUTE / n;
      for (int i = 0; i < INPUTS; i++) {
        p.setFeatures(i, (float) x[i]);
      }
      p.setScores(0, Score.newBuilder().setName("p").setValue(score(x))).setPredictedAtMs(at);
      assertThat(w.observe(p.build(), at)).isEqualTo(DriftWindows.Counted.COUNTED);
    }
    List<ColumnDrift> drift = w.drift(T0 + 59 * MINUTE);
    assertThat(drift).hasSize(INPUTS + 1);
    assertThat(drift).allSatisfy(d -> assertThat(d.rows()).isEqualTo(n));
    // The noise left is the reference's own: about (bins - 1) / 20,000.
    assertThat(drift).allSatisfy(d -> assertThat(d.psi()).isLessThan(0.01));
  }

  @Test
  void aWindowsStatisticsDependOnlyOnWhichPredictionsFallInItNotOnReadOrder() {
    ReferenceProfile profile = profile(5_000, 7);
    MonitorConfig config = MonitorConfig.defaults();
    Random random = new Random(8);
    List<Prediction> log = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      long at = T0 + i * 9_000L; // 50 hours
      log.add(prediction(inputs(random, i > 15_000 ? 0.3 : 0), at));
    }
    long now = T0 + 20_000 * 9_000L;
    DriftWindows throughout = new DriftWindows("m", 1, profile, config);
    for (Prediction p : log) {
      throughout.observe(p, p.getPredictedAtMs());
    }
    // A monitor that starts at `now` reads only what its longest window can hold, in any order.
    DriftWindows restarted = new DriftWindows("m", 1, profile, config);
    List<Prediction> replay = new ArrayList<>(log);
    Collections.shuffle(replay, random);
    int counted = 0;
    for (Prediction p : replay) {
      if (restarted.observe(p, now) == DriftWindows.Counted.COUNTED) {
        counted++;
      }
    }
    // The hour's window: the current minute and the 59 before it.
    long oldest = now - 59 * MINUTE;
    assertThat(counted).isEqualTo(log.stream().filter(p -> p.getPredictedAtMs() >= oldest).count());
    List<ColumnDrift> a = throughout.drift(now);
    List<ColumnDrift> b = restarted.drift(now);
    assertThat(b).hasSameSizeAs(a);
    for (int i = 0; i < a.size(); i++) {
      assertThat(b.get(i).live()).isEqualTo(a.get(i).live());
      // Bit for bit; NaN (no KS for a categorical column) equals NaN.
      assertThat(Double.doubleToLongBits(b.get(i).psi()))
          .isEqualTo(Double.doubleToLongBits(a.get(i).psi()));
      assertThat(Double.doubleToLongBits(b.get(i).ks()))
          .isEqualTo(Double.doubleToLongBits(a.get(i).ks()));
    }
    assertThat(restarted.bucketStarts()).isEqualTo(throughout.bucketStarts());
  }

  @Test
  void hostilePredictionsAreCountedAsFarAsTheyGoAndNeverStopTheWindows() {
    DriftWindows w = new DriftWindows("m", 1, profile(1_000, 9), FIVE_MINUTES);
    long now = T0 + 10 * MINUTE;
    Prediction ok = prediction(new double[] {0, 10, 2, 100}, now);
    // No input vector: only the score counts. Extreme and NaN values: edge bins.
    assertThat(w.observe(ok.toBuilder().clearFeatures().build(), now))
        .isEqualTo(DriftWindows.Counted.COUNTED);
    Prediction extreme =
        ok.toBuilder()
            .setFeatures(0, Float.NaN)
            .setFeatures(1, Float.MAX_VALUE)
            .setFeatures(3, Float.NEGATIVE_INFINITY)
            .addDefaultedInputs(2)
            .addDefaultedInputs(99)
            .addDefaultedInputs(-1)
            .build();
    assertThat(w.observe(extreme, now)).isEqualTo(DriftWindows.Counted.COUNTED);
    assertThat(w.observe(ok.toBuilder().setPredictedAtMs(Long.MIN_VALUE).build(), now))
        .isEqualTo(DriftWindows.Counted.LATE);
    assertThat(w.observe(ok.toBuilder().setPredictedAtMs(Long.MAX_VALUE).build(), now))
        .isEqualTo(DriftWindows.Counted.FUTURE);
    assertThat(w.observe(ok.toBuilder().clearScores().build(), now))
        .isEqualTo(DriftWindows.Counted.COUNTED);

    List<ColumnDrift> drift = w.drift(now);
    assertThat(drift.get(0).rows()).isEqualTo(2); // inputs: `extreme` and the score-less one
    assertThat(drift.get(0).live()[drift.get(0).live().length - 1]).isEqualTo(1); // NaN: last bin
    assertThat(drift.get(2).defaultedRatio()).isEqualTo(0.5);
    assertThat(drift.get(INPUTS).rows()).isEqualTo(2); // the score: all but the score-less one
    assertThat(w.idle(now + 6 * MINUTE)).isTrue();
  }
}
