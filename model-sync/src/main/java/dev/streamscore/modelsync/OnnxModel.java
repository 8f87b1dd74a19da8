package dev.streamscore.modelsync;

import ai.djl.MalformedModelException;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.NoBatchifyTranslator;
import ai.djl.translate.TranslateException;
import ai.djl.translate.TranslatorContext;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * One ONNX model loaded through DJL's ONNX Runtime engine, offline, one intra-op thread: takes a
 * feature vector, returns the model's first output as floats.
 *
 * <p>Thread-safe: predictors are pooled (a DJL predictor is not thread-safe, creating one per call
 * costs more than the prediction). Closing while a prediction runs crashes the JVM inside ONNX
 * Runtime, which is why serving code reaches models only through a {@link ModelHandle}.
 *
 * <p>Close order: the pooled predictors, then the model (which frees the ONNX Runtime session).
 */
public final class OnnxModel implements AutoCloseable {
  static {
    // DJL otherwise asks a cloud metadata address on start; nothing here may reach the network.
    System.setProperty("OPT_OUT_TRACKING", "true");
    System.setProperty("offline", "true");
  }

  private static final int POOL = 8;

  private final ZooModel<float[], float[]> model;
  private final BlockingQueue<Predictor<float[], float[]>> predictors =
      new ArrayBlockingQueue<>(POOL);
  private final int inputWidth;

  private OnnxModel(ZooModel<float[], float[]> model, int inputWidth) {
    this.model = model;
    this.inputWidth = inputWidth;
  }

  /**
   * Loads {@code file}.
   *
   * @throws ModelLoadException when the file is not an ONNX model ONNX Runtime can load, or its
   *     first input is not a float matrix {@code [batch, width]}
   */
  public static OnnxModel load(Path file) {
    Criteria<float[], float[]> criteria =
        Criteria.builder()
            .setTypes(float[].class, float[].class)
            .optModelPath(file)
            .optEngine("OnnxRuntime")
            .optTranslator(new VectorTranslator())
            .optOption("intraOpNumThreads", "1")
            .optOption("interOpNumThreads", "1")
            .build();
    ZooModel<float[], float[]> model;
    try {
      model = criteria.loadModel();
    } catch (IOException | ModelNotFoundException | MalformedModelException | RuntimeException e) {
      throw new ModelLoadException("not a loadable ONNX model: " + rootMessage(e), e);
    }
    try {
      return new OnnxModel(model, inputWidth(file));
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
  }

  /**
   * The width of the first input, read through a short-lived ONNX Runtime session: DJL's engine
   * reports input names but not their shapes.
   */
  private static int inputWidth(Path file) {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        OrtSession session = env.createSession(file.toString(), options)) {
      Map<String, NodeInfo> inputs = session.getInputInfo();
      if (inputs.size() != 1) {
        throw new ModelLoadException(
            "the model has " + inputs.size() + " inputs " + inputs.keySet() + "; expected one");
      }
      NodeInfo input = inputs.values().iterator().next();
      if (!(input.getInfo() instanceof TensorInfo tensor)
          || tensor.type != OnnxJavaType.FLOAT
          || tensor.getShape().length != 2) {
        throw new ModelLoadException(
            "input '"
                + input.getName()
                + "' is "
                + input.getInfo()
                + "; expected float [batch, width]");
      }
      return (int) tensor.getShape()[1];
    } catch (OrtException e) {
      throw new ModelLoadException("not a loadable ONNX model: " + rootMessage(e), e);
    }
  }

  /** The width of the model's input vector, or -1 when the model leaves it open. */
  public int inputWidth() {
    return inputWidth;
  }

  /**
   * Runs the model on one vector.
   *
   * @throws PredictionException wrapping ONNX Runtime's error when the model cannot run on it
   */
  public float[] predict(float[] input) {
    Predictor<float[], float[]> predictor = predictors.poll();
    if (predictor == null) {
      predictor = model.newPredictor();
    }
    try {
      return predictor.predict(input);
    } catch (TranslateException | RuntimeException e) {
      throw new PredictionException("the model failed: " + rootMessage(e), e);
    } finally {
      if (!predictors.offer(predictor)) {
        predictor.close();
      }
    }
  }

  @Override
  public void close() {
    for (Predictor<float[], float[]> p; (p = predictors.poll()) != null; ) {
      p.close();
    }
    model.close();
  }

  static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    return message.lines().findFirst().orElse(message);
  }

  /** One vector in as a {@code [1, width]} float tensor; the first output out as floats. */
  private static final class VectorTranslator implements NoBatchifyTranslator<float[], float[]> {
    @Override
    public NDList processInput(TranslatorContext ctx, float[] input) {
      NDArray array = ctx.getNDManager().create(input, new Shape(1, input.length));
      return new NDList(array);
    }

    @Override
    public float[] processOutput(TranslatorContext ctx, NDList list) {
      NDArray out = list.get(0);
      if (out.getDataType() != DataType.FLOAT32) {
        throw new IllegalStateException(
            "the model's first output is " + out.getDataType() + "; expected float32");
      }
      return out.toFloatArray();
    }
  }
}
