package dev.streamscore.modelsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import ml.dmlc.xgboost4j.java.XGBoost;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class XgboostModelTest {
  private static final int WIDTH = 5;
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private Path trained;

  @BeforeEach
  void train() throws Exception {
    trained = TestModels.xgboost(dir.resolve("m.json"), WIDTH, 2_000, 7);
  }

  @Test
  void predictionsEqualXgboostsOwnOnAThousandRowsAloneAndInABatch() throws Exception {
    float[][] rows = rows(1_000, 11);
    float[] flat = new float[rows.length * WIDTH];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(rows[i], 0, flat, i * WIDTH, WIDTH);
    }
    Booster reference = XGBoost.loadModel(trained.toString());
    float[][] expected;
    try {
      DMatrix matrix = new DMatrix(flat, rows.length, WIDTH, Float.NaN);
      expected = reference.predict(matrix);
      matrix.dispose();
    } finally {
      reference.dispose();
    }
    try (XgboostModel model = XgboostModel.load(trained)) {
      assertThat(model.inputWidth()).isEqualTo(WIDTH);
      float[][] batch = model.predictBatch(rows);
      for (int i = 0; i < rows.length; i++) {
        float[] alone = model.predict(rows[i]);
        assertThat(alone).hasSize(1);
        assertThat((double) alone[0]).as("row %d", i).isCloseTo(expected[i][0], within(1e-6));
        assertThat((double) batch[i][0]).as("row %d", i).isCloseTo(expected[i][0], within(1e-6));
      }
    }
  }

  @Test
  void concurrentPredictionsGiveWhatSequentialOnesGive() throws Exception {
    float[][] rows = rows(400, 3);
    try (XgboostModel model = XgboostModel.load(trained)) {
      float[] sequential = new float[rows.length];
      for (int i = 0; i < rows.length; i++) {
        sequential[i] = model.predict(rows[i])[0];
      }
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<float[]>> results = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          results.add(
              pool.submit(
                  () -> {
                    float[] out = new float[rows.length];
                    for (int round = 0; round < 5; round++) {
                      for (int i = 0; i < rows.length; i++) {
                        out[i] = model.predict(rows[i])[0];
                      }
                    }
                    return out;
                  }));
        }
        for (Future<float[]> f : results) {
          assertThat(f.get()).containsExactly(sequential);
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void aVectorOfTheWrongWidthIsAPredictionErrorNotACrash() {
    try (XgboostModel model = XgboostModel.load(trained)) {
      assertThatThrownBy(() -> model.predict(new float[WIDTH + 1]))
          .isInstanceOf(PredictionException.class)
          .hasMessageContaining("takes 5 inputs");
      assertThatThrownBy(() -> model.predictBatch(new float[][] {new float[WIDTH], new float[2]}))
          .isInstanceOf(PredictionException.class)
          .hasMessageContaining("row 1 has 2 values");
    }
  }

  @Test
  void bytesThatAreNoXgboostJsonModelAreRefusedWithTheReason() throws Exception {
    byte[] random = new byte[4096];
    new SplittableRandom(5).nextBytes(random);
    String good = Files.readString(trained);
    assertRefused(new byte[0], "does not start with '{'");
    assertRefused(random, "not an XGBoost JSON model");
    random[0] = '{';
    assertRefused(random, "not an XGBoost JSON model");
    assertRefused(good.substring(0, good.length() / 2).getBytes(StandardCharsets.UTF_8), "JSON");
    assertRefused("{}".getBytes(StandardCharsets.UTF_8), "no 'learner' object");
    assertRefused(onnx(), "does not start with '{'");
    // Deep nesting overflows XGBoost's own parser and kills the JVM: it must never get there.
    String deep = "{\"learner\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}";
    assertRefused(deep.getBytes(StandardCharsets.UTF_8), "nesting depth");
  }

  @Test
  void treesThatWouldMakeXgboostReadOutOfBoundsAreRefusedBeforeItSeesThem() throws Exception {
    assertRefused(tree(t -> ints(t, "left_children").set(0, 99_999)), "not a tree's");
    assertRefused(tree(t -> ints(t, "left_children").set(0, -5)), "not a tree's");
    assertRefused(tree(t -> ints(t, "split_indices").set(0, 5_000_000)), "splits on feature");
    assertRefused(tree(t -> ints(t, "split_indices").set(0, -1)), "splits on feature");
    // A cycle back to the root, and two parents sharing a child: walks that never end.
    assertRefused(
        tree(
            t -> {
              int inner = firstInnerChild(t);
              ints(t, "left_children").set(inner, 0);
            }),
        "not a tree's");
    assertRefused(
        tree(
            t -> {
              ArrayNode left = ints(t, "left_children");
              ints(t, "right_children").set(0, left.get(0).asInt());
            }),
        "not a tree's");
    assertRefused(tree(t -> ints(t, "left_children").remove(0)), "must hold");
    assertRefused(
        tree(t -> ((ObjectNode) t.get("tree_param")).put("num_nodes", "2147483647")), "must hold");
    assertRefused(tree(t -> ints(t, "split_type").set(0, 1)), "categorical splits");
    assertRefused(
        model(m -> ((ObjectNode) m.at("/learner/gradient_booster")).put("name", "gblinear")),
        "only gbtree is served");
  }

  @Test
  void theRegistryFormatChecksGiveTheWidthOrTheReason() throws Exception {
    // TestModels trains without feature names; XGBoost then carries none.
    assertThat(
            ServedModel.signatureOf(
                dev.streamscore.proto.v1.ModelFormat.MODEL_FORMAT_XGBOOST_JSON, trained))
        .isEqualTo(new ServedModel.Signature(WIDTH, java.util.List.of()));
    assertThatThrownBy(
            () ->
                ServedModel.signatureOf(
                    dev.streamscore.proto.v1.ModelFormat.MODEL_FORMAT_UNSPECIFIED, trained))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("cannot be served");
  }

  private void assertRefused(byte[] bytes, String reason) throws Exception {
    Path file = Files.write(dir.resolve("hostile.json"), bytes);
    assertThatThrownBy(() -> XgboostModel.load(file).close())
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining(reason);
  }

  private byte[] tree(Consumer<ObjectNode> edit) throws Exception {
    return model(m -> edit.accept((ObjectNode) m.at("/learner/gradient_booster/model/trees/0")));
  }

  private byte[] model(Consumer<ObjectNode> edit) throws Exception {
    ObjectNode model = (ObjectNode) JSON.readTree(trained.toFile());
    edit.accept(model);
    return JSON.writeValueAsBytes(model);
  }

  private static ArrayNode ints(ObjectNode tree, String field) {
    return (ArrayNode) tree.get(field);
  }

  private static int firstInnerChild(ObjectNode tree) {
    ArrayNode left = ints(tree, "left_children");
    for (int i = 1; i < left.size(); i++) {
      if (left.get(i).asInt() != -1) {
        return i;
      }
    }
    throw new AssertionError("the trained tree has one split only");
  }

  private byte[] onnx() throws Exception {
    return Files.readAllBytes(TestModels.logisticRegression(dir.resolve("lr.onnx"), WIDTH, 1));
  }

  private static float[][] rows(int n, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    float[][] rows = new float[n][WIDTH];
    for (float[] row : rows) {
      for (int j = 0; j < WIDTH; j++) {
        row[j] = (float) (random.nextGaussian() * 2);
      }
    }
    return rows;
  }

  private static org.assertj.core.data.Offset<Double> within(double d) {
    return org.assertj.core.data.Offset.offset(d);
  }
}
