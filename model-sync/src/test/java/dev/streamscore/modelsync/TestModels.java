package dev.streamscore.modelsync;

import ai.onnx.proto.OnnxMl;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.tribuo.Example;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.ONNXExportable;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.classification.sgd.linear.LogisticRegressionTrainer;
import org.tribuo.datasource.ListDataSource;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.tribuo.util.onnx.ONNXContext;
import org.tribuo.util.onnx.ONNXNode;
import org.tribuo.util.onnx.ONNXOperators;
import org.tribuo.util.onnx.ONNXPlaceholder;

/** Real ONNX and XGBoost models made here, never downloaded. */
public final class TestModels {
  /** Held so the setting stays: Tribuo logs every training epoch through java.util.logging. */
  private static final java.util.logging.Logger TRIBUO =
      java.util.logging.Logger.getLogger("org.tribuo");

  static {
    TRIBUO.setLevel(java.util.logging.Level.WARNING);
  }

  private TestModels() {}

  /**
   * A logistic regression trained by Tribuo on {@code n} synthetic rows of {@code width} features
   * (label 1 when a weighted sum plus noise is positive), exported to ONNX: input {@code [batch,
   * width]}, output the two class probabilities.
   */
  public static Path logisticRegression(Path file, int width, long seed) throws IOException {
    SplittableRandom random = new SplittableRandom(seed);
    LabelFactory labels = new LabelFactory();
    List<Example<Label>> examples = new ArrayList<>();
    String[] names = new String[width];
    for (int i = 0; i < width; i++) {
      names[i] = String.format("x%03d", i); // Tribuo orders features by name
    }
    for (int r = 0; r < 2_000; r++) {
      double[] values = new double[width];
      double sum = 0;
      for (int i = 0; i < width; i++) {
        values[i] = random.nextGaussian();
        sum += values[i] * (i % 2 == 0 ? 1 : -0.5);
      }
      String label = sum + random.nextGaussian() * 0.3 > 0 ? "1" : "0";
      examples.add(new ArrayExample<>(new Label(label), names, values));
    }
    MutableDataset<Label> data =
        new MutableDataset<>(
            new ListDataSource<>(
                examples, labels, new SimpleDataSourceProvenance("synthetic", labels)));
    Model<Label> model = new LogisticRegressionTrainer().train(data);
    ((ONNXExportable) model).saveONNXModel("dev.streamscore.test", 1, file);
    return file;
  }

  /** Returns {@code constant} for every input of {@code width} floats: tells versions apart. */
  public static Path constant(Path file, int width, float constant) throws IOException {
    ONNXContext ctx = new ONNXContext();
    ONNXPlaceholder input = ctx.floatInput("input", width);
    ONNXPlaceholder output = ctx.floatOutput("output", 1);
    var weights =
        ctx.floatTensor(
            "w",
            List.of(width, 1),
            b -> {
              for (int i = 0; i < width; i++) {
                b.put(0f);
              }
            });
    var bias = ctx.array("b", new float[] {constant});
    ONNXNode gemm = input.apply(ONNXOperators.GEMM, List.of(weights, bias));
    gemm.assignTo(output);
    return save(ctx, file);
  }

  /** Loads fine, then fails on every input: gathers a column past the input's width. */
  public static Path failsAtRunTime(Path file, int width) throws IOException {
    ONNXContext ctx = new ONNXContext();
    ONNXPlaceholder input = ctx.floatInput("input", width);
    ONNXPlaceholder output = ctx.floatOutput("output", 1);
    var index = ctx.array("idx", new long[] {width + 5L});
    input.apply(ONNXOperators.GATHER, index, Map.of("axis", 1)).assignTo(output);
    return save(ctx, file);
  }

  /**
   * Gradient-boosted trees trained by xgboost4j on {@code n} synthetic rows of {@code width}
   * features (label 1 when a weighted sum plus noise is positive), {@code binary:logistic}, saved
   * in XGBoost's JSON format: one output, the positive class's probability.
   */
  public static Path xgboost(Path file, int width, int n, long seed) throws IOException {
    SplittableRandom random = new SplittableRandom(seed);
    float[] x = new float[n * width];
    float[] y = new float[n];
    for (int i = 0; i < n; i++) {
      double sum = random.nextGaussian() * 0.5;
      for (int j = 0; j < width; j++) {
        float v = (float) random.nextGaussian();
        x[i * width + j] = v;
        sum += v * (j % 2 == 0 ? 1 : -0.5) / (j + 1);
      }
      y[i] = sum > 0.2 ? 1 : 0;
    }
    try {
      ml.dmlc.xgboost4j.java.DMatrix data =
          new ml.dmlc.xgboost4j.java.DMatrix(x, n, width, Float.NaN);
      try {
        data.setLabel(y);
        ml.dmlc.xgboost4j.java.Booster booster =
            ml.dmlc.xgboost4j.java.XGBoost.train(
                data,
                Map.of(
                    "objective",
                    "binary:logistic",
                    "max_depth",
                    4,
                    "eta",
                    0.3,
                    "nthread",
                    1,
                    "seed",
                    seed),
                30,
                Map.of(),
                null,
                null);
        try {
          booster.saveModel(file.toString());
        } finally {
          booster.dispose();
        }
      } finally {
        data.dispose();
      }
    } catch (ml.dmlc.xgboost4j.java.XGBoostError e) {
      throw new IOException("xgboost failed to train: " + e.getMessage(), e);
    }
    return file;
  }

  private static Path save(ONNXContext ctx, Path file) throws IOException {
    OnnxMl.ModelProto model =
        OnnxMl.ModelProto.newBuilder()
            .setIrVersion(8)
            .setProducerName("streamscore-tests")
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(13))
            .setGraph(ctx.buildGraph())
            .build();
    Files.write(file, model.toByteArray());
    return file;
  }
}
