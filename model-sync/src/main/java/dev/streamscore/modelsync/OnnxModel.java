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
public final class OnnxModel implements ServedModel {
  static {
    // DJL otherwise asks a cloud metadata address on start; nothing here may reach the network.
    System.setProperty("OPT_OUT_TRACKING", "true");
    System.setProperty("offline", "true");
  }

  private static final int POOL = 8;

  private final ZooModel<float[], float[]> model;
  private final BlockingQueue<Predictor<float[], float[]>> predictors =
      new ArrayBlockingQueue<>(POOL);
  private final BlockingQueue<Predictor<float[][], float[][]>> batchPredictors =
      new ArrayBlockingQueue<>(POOL);
  private final int inputWidth;
  private final boolean batchable;

  private OnnxModel(ZooModel<float[], float[]> model, int inputWidth, boolean batchable) {
    this.model = model;
    this.inputWidth = inputWidth;
    this.batchable = batchable;
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
    // The shape first, through a session that always closes: a file that is no ONNX model, or
    // not one we can serve, is refused before DJL holds a model that would need closing.
    long[] shape;
    try {
      shape = inputShape(file);
    } catch (ModelLoadException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new ModelLoadException("not a loadable ONNX model: " + rootMessage(e), e);
    }
    ZooModel<float[], float[]> model;
    try {
      model = criteria.loadModel();
    } catch (IOException | ModelNotFoundException | MalformedModelException | RuntimeException e) {
      throw new ModelLoadException("not a loadable ONNX model: " + rootMessage(e), e);
    }
    return new OnnxModel(model, (int) shape[1], shape[0] < 0);
  }

  /**
   * The shape of the first input, read through a short-lived ONNX Runtime session: DJL's engine
   * reports input names but not their shapes. A symbolic dimension is -1.
   */
  private static long[] inputShape(Path file) {
    // DJL's engine must create the process's ONNX Runtime environment (with its thread pool)
    // before anyone else does, or it fails to start for the rest of the JVM's life.
    ai.djl.engine.Engine.getEngine("OnnxRuntime");
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
      return tensor.getShape();
    } catch (OrtException e) {
      throw new ModelLoadException("not a loadable ONNX model: " + rootMessage(e), e);
    }
  }

  /**
   * Checks that {@code file} is an ONNX model this platform can serve (one float input of shape
   * [batch, width]) without loading it for predictions, and returns the width (-1 when open).
   *
   * @throws ModelLoadException saying why not
   */
  public static int inputWidthOf(Path file) {
    return (int) inputShape(file)[1];
  }

  @Override
  public int inputWidth() {
    return inputWidth;
  }

  /**
   * Runs the model on one vector.
   *
   * @throws PredictionException wrapping ONNX Runtime's error when the model cannot run on it
   */
  @Override
  public float[] predict(float[] input) {
    return pooled(predictors, model::newPredictor, input);
  }

  /**
   * Runs the model on several vectors at once, in one ONNX Runtime call when the model's batch
   * dimension is open (one call per vector otherwise): the fixed cost of a call is most of a small
   * model's cost.
   *
   * @return one output row per input row, in order
   * @throws PredictionException wrapping ONNX Runtime's error when the model cannot run on them
   */
  @Override
  public float[][] predictBatch(float[][] inputs) {
    if (!batchable || inputs.length == 1) {
      float[][] out = new float[inputs.length][];
      for (int i = 0; i < inputs.length; i++) {
        out[i] = predict(inputs[i]);
      }
      return out;
    }
    return pooled(batchPredictors, () -> model.newPredictor(new MatrixTranslator()), inputs);
  }

  /** Runs {@code input} on a predictor from {@code pool} (a new one when none is idle). */
  private static <I, O> O pooled(
      BlockingQueue<Predictor<I, O>> pool,
      java.util.function.Supplier<Predictor<I, O>> create,
      I input) {
    Predictor<I, O> predictor = pool.poll();
    if (predictor == null) {
      predictor = create.get();
    }
    try {
      return predictor.predict(input);
    } catch (TranslateException | RuntimeException e) {
      throw new PredictionException("the model failed: " + rootMessage(e), e);
    } finally {
      if (!pool.offer(predictor)) {
        predictor.close();
      }
    }
  }

  @Override
  public void close() {
    for (Predictor<float[], float[]> p; (p = predictors.poll()) != null; ) {
      p.close();
    }
    for (Predictor<float[][], float[][]> p; (p = batchPredictors.poll()) != null; ) {
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
      return floats(list);
    }
  }

  private static float[] floats(NDList list) {
    NDArray out = list.get(0);
    if (out.getDataType() != DataType.FLOAT32) {
      throw new IllegalStateException(
          "the model's first output is " + out.getDataType() + "; expected float32");
    }
    return out.toFloatArray();
  }

  /** Rows in as one {@code [rows, width]} tensor; the first output split back into rows. */
  private static final class MatrixTranslator
      implements NoBatchifyTranslator<float[][], float[][]> {
    private int rows;

    @Override
    public NDList processInput(TranslatorContext ctx, float[][] input) {
      int width = input[0].length;
      float[] flat = new float[input.length * width];
      for (int i = 0; i < input.length; i++) {
        System.arraycopy(input[i], 0, flat, i * width, width);
      }
      rows = input.length; // a predictor serves one call at a time
      return new NDList(ctx.getNDManager().create(flat, new Shape(input.length, width)));
    }

    @Override
    public float[][] processOutput(TranslatorContext ctx, NDList list) {
      float[] flat = floats(list);
      if (flat.length % rows != 0) {
        throw new IllegalStateException(
            "the model returned " + flat.length + " values for " + rows + " rows");
      }
      int width = flat.length / rows;
      float[][] out = new float[rows][];
      for (int i = 0; i < rows; i++) {
        out[i] = java.util.Arrays.copyOfRange(flat, i * width, (i + 1) * width);
      }
      return out;
    }
  }
}
