package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamscore.modelsync.OnnxModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
  @TempDir Path dir;

  /** Fraud when a large-scale amount and a small-scale count are both high; one constant column. */
  private static List<Trainer.Row> rows(int n, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    List<Trainer.Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      double amount = random.nextDouble(0, 5_000);
      double count = random.nextInt(0, 20);
      boolean fraud = amount / 5_000 + count / 20 + random.nextGaussian() * 0.1 > 1.2;
      rows.add(new Trainer.Row(new double[] {amount, count, 7}, fraud));
    }
    return rows;
  }

  @Test
  void theExportedGraphScoresRawVectorsThoughTheModelLearnedOnStandardizedOnes() throws Exception {
    Trainer.Trained trained = Trainer.train(rows(5_000, 1), 5, 1, dir.resolve("m.onnx"));
    List<Trainer.Row> heldOut = rows(2_000, 2);
    double[] scores = new double[heldOut.size()];
    boolean[] labels = new boolean[heldOut.size()];
    try (OnnxModel model = OnnxModel.load(trained.file())) {
      for (int i = 0; i < heldOut.size(); i++) {
        double[] x = heldOut.get(i).x();
        float[] out = model.predict(new float[] {(float) x[0], (float) x[1], (float) x[2]});
        assertThat(out[0] + out[1]).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-4f));
        scores[i] = out[trained.fraudColumn()];
        labels[i] = heldOut.get(i).fraud();
      }
    }
    assertThat(Trainer.auc(scores, labels)).isGreaterThan(0.95);
    // Fed unscaled, the learned weights would push nearly every probability to 0 or 1.
    double meanScore = java.util.Arrays.stream(scores).average().orElseThrow();
    double fraudRate =
        heldOut.stream().filter(Trainer.Row::fraud).count() / (double) heldOut.size();
    assertThat(meanScore).isCloseTo(fraudRate, org.assertj.core.data.Offset.offset(0.05));
  }

  @Test
  void aucRanksPositivesAboveNegativesAndCountsTiesHalf() {
    boolean[] labels = {false, false, true, true};
    assertThat(Trainer.auc(new double[] {0.1, 0.2, 0.8, 0.9}, labels)).isEqualTo(1.0);
    assertThat(Trainer.auc(new double[] {0.9, 0.8, 0.2, 0.1}, labels)).isEqualTo(0.0);
    assertThat(Trainer.auc(new double[] {0.5, 0.5, 0.5, 0.5}, labels)).isEqualTo(0.5);
    assertThat(Trainer.auc(new double[] {1, 2}, new boolean[] {true, true})).isNaN();
  }
}
