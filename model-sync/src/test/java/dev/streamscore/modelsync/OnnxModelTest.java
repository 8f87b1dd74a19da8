package dev.streamscore.modelsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxModelTest {
  @TempDir Path dir;

  @Test
  void aTribuoLogisticRegressionPredictsProbabilitiesThatSumToOne() throws Exception {
    Path file = TestModels.logisticRegression(dir.resolve("lr.onnx"), 6, 1);
    try (OnnxModel model = OnnxModel.load(file)) {
      assertThat(model.inputWidth()).isEqualTo(6);
      float[] out = model.predict(new float[] {2, -1, 2, -1, 2, -1});
      assertThat(out).hasSize(2);
      assertThat(out[0] + out[1]).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-5f));
    }
  }

  @Test
  void aBatchScoresEachRowAsItWouldBeScoredAlone() throws Exception {
    Path file = TestModels.logisticRegression(dir.resolve("lr.onnx"), 3, 2);
    try (OnnxModel model = OnnxModel.load(file)) {
      float[][] rows = new float[50][];
      for (int i = 0; i < rows.length; i++) {
        rows[i] = new float[] {i / 10f, -i / 7f, (i % 5) - 2f};
      }
      float[][] batched = model.predictBatch(rows);
      assertThat(batched).hasNumberOfRows(rows.length);
      for (int i = 0; i < rows.length; i++) {
        float[] alone = model.predict(rows[i]);
        assertThat(batched[i]).hasSize(2);
        for (int k = 0; k < 2; k++) {
          assertThat(batched[i][k])
              .as("row %d output %d", i, k)
              .isCloseTo(alone[k], org.assertj.core.data.Offset.offset(1e-6f));
        }
      }
    }
  }

  @Test
  void aConstantModelReturnsItsConstant() throws Exception {
    try (OnnxModel model = OnnxModel.load(TestModels.constant(dir.resolve("c.onnx"), 4, 7f))) {
      assertThat(model.predict(new float[] {1, 2, 3, 4})).containsExactly(7f);
    }
  }

  @Test
  void aModelThatFailsAtRunTimeLoadsButFailsToPredictWithOnnxRuntimesReason() throws Exception {
    try (OnnxModel model = OnnxModel.load(TestModels.failsAtRunTime(dir.resolve("f.onnx"), 4))) {
      assertThatThrownBy(() -> model.predict(new float[] {1, 2, 3, 4}))
          .isInstanceOf(PredictionException.class)
          .hasMessageContaining("the model failed");
    }
  }

  @Test
  void bytesThatAreNotOnnxAreRefusedWithAReason() throws Exception {
    Path file = Files.write(dir.resolve("junk.onnx"), new byte[] {1, 2, 3, 4, 5});
    assertThatThrownBy(() -> OnnxModel.load(file))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageStartingWith("not a loadable ONNX model");
  }
}
