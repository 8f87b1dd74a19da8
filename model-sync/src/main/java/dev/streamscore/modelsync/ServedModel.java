package dev.streamscore.modelsync;

import dev.streamscore.proto.v1.ModelFormat;
import java.nio.file.Path;
import java.util.List;

/**
 * A model loaded for serving, whatever its format: a feature vector in, the model's outputs out.
 * Implementations are thread-safe; closing one while a prediction runs is undefined (native engines
 * crash), which is why serving code reaches models only through a {@link Lease}.
 */
public sealed interface ServedModel extends AutoCloseable permits OnnxModel, XgboostModel {

  /**
   * Loads {@code file} as a model of {@code format}.
   *
   * @throws ModelLoadException when the file is not a model of that format this platform can serve
   */
  static ServedModel load(ModelFormat format, Path file) {
    return switch (format) {
      case MODEL_FORMAT_ONNX -> OnnxModel.load(file);
      case MODEL_FORMAT_XGBOOST_JSON -> XgboostModel.load(file);
      default -> throw new ModelLoadException("the format " + format + " cannot be served");
    };
  }

  /**
   * Checks that {@code file} is a model of {@code format} that can be served, and returns what it
   * declares of its inputs.
   *
   * @throws ModelLoadException saying why not
   */
  static Signature signatureOf(ModelFormat format, Path file) {
    return switch (format) {
      case MODEL_FORMAT_ONNX -> new Signature(OnnxModel.inputWidthOf(file), List.of());
      case MODEL_FORMAT_XGBOOST_JSON -> {
        try (XgboostModel model = XgboostModel.load(file)) {
          yield new Signature(model.inputWidth(), model.featureNames());
        }
      }
      default -> throw new ModelLoadException("the format " + format + " cannot be served");
    };
  }

  /**
   * What a model file declares of its inputs.
   *
   * @param width the input vector's width, -1 when the model leaves it open
   * @param names the inputs' names in order, when the model carries them (XGBoost may); else empty
   */
  record Signature(int width, List<String> names) {
    public Signature {
      names = List.copyOf(names);
    }
  }

  /** The width of the model's input vector, or -1 when the model leaves it open. */
  int inputWidth();

  /**
   * Runs the model on one vector.
   *
   * @throws PredictionException wrapping the engine's error when the model cannot run on it
   */
  float[] predict(float[] input);

  /**
   * Runs the model on several vectors at once, in one engine call where the engine allows: the
   * fixed cost of a call is most of a small model's cost.
   *
   * @return one output row per input row, in order
   * @throws PredictionException wrapping the engine's error when the model cannot run on them
   */
  float[][] predictBatch(float[][] inputs);

  /** Frees the engine's native memory; the model cannot be used afterwards. */
  @Override
  void close();
}
