package dev.streamscore.launcher;

import ai.onnx.proto.OnnxMl;
import dev.streamscore.proto.v1.ModelFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.logging.Level;
import org.tribuo.Example;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.ONNXExportable;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.classification.sgd.linear.LinearSGDTrainer;
import org.tribuo.classification.sgd.objectives.LogMulticlass;
import org.tribuo.datasource.ListDataSource;
import org.tribuo.impl.ArrayExample;
import org.tribuo.math.optimisers.AdaGrad;
import org.tribuo.provenance.SimpleDataSourceProvenance;

/**
 * Trains a fraud model in Java (Tribuo logistic regression, AdaGrad, which adapts its step to each
 * feature's scale) on point-in-time feature vectors, exports it to ONNX, and measures AUC. The
 * exported graph takes the raw vector in the caller's input order, so a scoring node can feed it
 * what it assembles.
 */
final class Trainer {
  /** Held so the setting stays: Tribuo logs every epoch through java.util.logging. */
  private static final java.util.logging.Logger TRIBUO =
      java.util.logging.Logger.getLogger("org.tribuo");

  static {
    TRIBUO.setLevel(Level.WARNING);
  }

  /**
   * One labelled vector.
   *
   * @param defaulted which values were a missing or expired feature's default
   */
  record Row(double[] x, boolean fraud, boolean[] defaulted) {
    Row(double[] x, boolean fraud) {
      this(x, fraud, new boolean[x.length]);
    }
  }

  /**
   * A trained model: its file, in ONNX or XGBoost JSON, and which output is the fraud probability.
   */
  record Trained(Path file, ModelFormat format, List<String> outputs, int fraudColumn) {}

  private Trainer() {}

  /**
   * Trains on {@code rows} and writes the ONNX graph to {@code file}. Feature names are {@code
   * x000, x001, …} because Tribuo orders features by name: the graph's input order is then the
   * caller's.
   */
  static Trained train(List<Row> rows, int epochs, long seed, Path file) throws IOException {
    Config baseline = Config.baseline(seed);
    return train(
        rows, new Config(baseline.algorithm(), baseline.learningRate(), epochs, 0, seed), file);
  }

  static final String LOGISTIC_REGRESSION = "logistic-regression";
  static final String FACTORIZATION_MACHINE = "factorization-machine";
  static final String XGBOOST = "xgboost";

  /** The file name's ending for a model of {@code algorithm}. */
  static String extension(String algorithm) {
    return algorithm.equals(XGBOOST) ? ".json" : ".onnx";
  }

  /**
   * One configuration of an algorithm.
   *
   * @param learningRate AdaGrad's initial step, or XGBoost's eta
   * @param epochs passes over the rows, or XGBoost's boosting rounds
   * @param size the factorization machine's factor size, or XGBoost's tree depth (unused by
   *     logistic regression)
   */
  record Config(String algorithm, double learningRate, int epochs, int size, long seed) {
    Config {
      if (!List.of(LOGISTIC_REGRESSION, FACTORIZATION_MACHINE, XGBOOST).contains(algorithm)) {
        throw new IllegalArgumentException(
            "algorithm must be "
                + LOGISTIC_REGRESSION
                + ", "
                + FACTORIZATION_MACHINE
                + " or "
                + XGBOOST
                + ", got '"
                + algorithm
                + "'");
      }
      if (!(learningRate > 0 && learningRate <= 10)) {
        throw new IllegalArgumentException("learning_rate must be in (0, 10], got " + learningRate);
      }
      if (epochs < 1 || epochs > 5_000) {
        throw new IllegalArgumentException("epochs must be 1 to 5000, got " + epochs);
      }
      if (algorithm.equals(FACTORIZATION_MACHINE) && (size < 1 || size > 64)) {
        throw new IllegalArgumentException("factors must be 1 to 64, got " + size);
      }
      if (algorithm.equals(XGBOOST) && (size < 1 || size > 16)) {
        throw new IllegalArgumentException("max_depth must be 1 to 16, got " + size);
      }
      if (algorithm.equals(XGBOOST) && learningRate > 1) {
        throw new IllegalArgumentException("learning_rate must be in (0, 1], got " + learningRate);
      }
    }

    /**
     * The fixed recipe every search is measured against: the demo's v2 (logistic regression,
     * learning rate 0.5, 10 epochs).
     */
    static Config baseline(long seed) {
      return new Config(LOGISTIC_REGRESSION, 0.5, 10, 0, seed);
    }
  }

  /** Trains one configuration on {@code rows} and writes the model to {@code file}. */
  static Trained train(List<Row> rows, Config config, Path file) throws IOException {
    if (config.algorithm().equals(XGBOOST)) {
      return XgboostTrainer.train(rows, config, file);
    }
    LabelFactory labels = new LabelFactory();
    int width = rows.get(0).x().length;
    String[] names = new String[width];
    for (int i = 0; i < width; i++) {
      names[i] = String.format("x%03d", i);
    }
    Scaling scaling = Scaling.of(rows);
    List<Example<Label>> examples = new ArrayList<>(rows.size());
    for (Row r : rows) {
      examples.add(
          new ArrayExample<>(new Label(r.fraud() ? "1" : "0"), names, scaling.apply(r.x())));
    }
    MutableDataset<Label> data =
        new MutableDataset<>(
            new ListDataSource<>(
                examples, labels, new SimpleDataSourceProvenance("streamscore-demo", labels)));
    AdaGrad adaGrad = new AdaGrad(config.learningRate(), 0.1);
    Model<Label> model =
        config.algorithm().equals(LOGISTIC_REGRESSION)
            ? new LinearSGDTrainer(new LogMulticlass(), adaGrad, config.epochs(), config.seed())
                .train(data)
            : new org.tribuo.classification.sgd.fm.FMClassificationTrainer(
                    new LogMulticlass(),
                    adaGrad,
                    config.epochs(),
                    Integer.MAX_VALUE, // no per-epoch logging
                    1,
                    config.seed(),
                    config.size(),
                    0.1)
                .train(data);
    OnnxMl.ModelProto graph = ((ONNXExportable) model).exportONNXModel("dev.streamscore.demo", 1);
    Files.write(file, scaling.prependTo(graph).toByteArray());
    List<String> outputs = new ArrayList<>();
    int fraudColumn = -1;
    for (int id = 0; id < model.getOutputIDInfo().size(); id++) {
      String label = model.getOutputIDInfo().getOutput(id).getLabel();
      outputs.add(label.equals("1") ? "p_fraud" : "p_legit");
      if (label.equals("1")) {
        fraudColumn = id;
      }
    }
    if (fraudColumn < 0) {
      throw new IllegalStateException("the training data holds no fraud; generate more events");
    }
    return new Trained(file, ModelFormat.MODEL_FORMAT_ONNX, outputs, fraudColumn);
  }

  /**
   * Standardization to zero mean and unit variance per feature. Counts and sums of amounts differ
   * by orders of magnitude, and SGD on them unscaled gave models that changed from run to run. The
   * exported graph scales its input itself, so a scoring node still feeds it raw features.
   */
  record Scaling(double[] mean, double[] std) {
    static Scaling of(List<Row> rows) {
      int width = rows.get(0).x().length;
      double[] mean = new double[width];
      double[] sq = new double[width];
      for (Row r : rows) {
        for (int i = 0; i < width; i++) {
          mean[i] += r.x()[i];
          sq[i] += r.x()[i] * r.x()[i];
        }
      }
      double[] std = new double[width];
      for (int i = 0; i < width; i++) {
        mean[i] /= rows.size();
        double variance = sq[i] / rows.size() - mean[i] * mean[i];
        std[i] = variance > 1e-12 ? Math.sqrt(variance) : 1; // a constant feature stays as is
      }
      return new Scaling(mean, std);
    }

    double[] apply(double[] x) {
      double[] z = new double[x.length];
      for (int i = 0; i < x.length; i++) {
        z[i] = (x[i] - mean[i]) / std[i];
      }
      return z;
    }

    /** {@code graph} with {@code (input - mean) / std} computed before anything reads its input. */
    OnnxMl.ModelProto prependTo(OnnxMl.ModelProto graph) {
      String input = graph.getGraph().getInput(0).getName();
      String centered = input + "_centered";
      String scaled = input + "_scaled";
      OnnxMl.GraphProto.Builder g = graph.getGraph().toBuilder();
      for (OnnxMl.NodeProto.Builder node : g.getNodeBuilderList()) {
        for (int i = 0; i < node.getInputCount(); i++) {
          if (node.getInput(i).equals(input)) {
            node.setInput(i, scaled);
          }
        }
      }
      g.addInitializer(tensor("streamscore_mean", mean));
      g.addInitializer(tensor("streamscore_std", std));
      List<OnnxMl.NodeProto> nodes = new ArrayList<>(g.getNodeList());
      nodes.add(
          0,
          OnnxMl.NodeProto.newBuilder()
              .setOpType("Sub")
              .setName("streamscore_center")
              .addInput(input)
              .addInput("streamscore_mean")
              .addOutput(centered)
              .build());
      nodes.add(
          1,
          OnnxMl.NodeProto.newBuilder()
              .setOpType("Div")
              .setName("streamscore_scale")
              .addInput(centered)
              .addInput("streamscore_std")
              .addOutput(scaled)
              .build());
      g.clearNode().addAllNode(nodes);
      return graph.toBuilder().setGraph(g).build();
    }

    private static OnnxMl.TensorProto tensor(String name, double[] values) {
      OnnxMl.TensorProto.Builder t =
          OnnxMl.TensorProto.newBuilder()
              .setName(name)
              .setDataType(OnnxMl.TensorProto.DataType.FLOAT.getNumber())
              .addDims(values.length);
      for (double v : values) {
        t.addFloatData((float) v);
      }
      return t.build();
    }
  }

  /** Area under the ROC curve of {@code scores} for {@code labels} (ties count half). */
  static double auc(double[] scores, boolean[] labels) {
    Integer[] order = new Integer[scores.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Double.compare(scores[a], scores[b]));
    double rankSum = 0;
    long positives = 0;
    int i = 0;
    while (i < order.length) {
      int j = i;
      while (j + 1 < order.length && scores[order[j + 1]] == scores[order[i]]) {
        j++;
      }
      double rank = (i + j) / 2.0 + 1; // average rank of the tie group, 1-based
      for (int k = i; k <= j; k++) {
        if (labels[order[k]]) {
          rankSum += rank;
          positives++;
        }
      }
      i = j + 1;
    }
    long negatives = scores.length - positives;
    if (positives == 0 || negatives == 0) {
      return Double.NaN;
    }
    return (rankSum - positives * (positives + 1) / 2.0) / (positives * (double) negatives);
  }
}
