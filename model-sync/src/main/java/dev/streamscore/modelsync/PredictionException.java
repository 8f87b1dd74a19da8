package dev.streamscore.modelsync;

/** A loaded model failed on one input (ONNX Runtime's error, first line). */
public class PredictionException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public PredictionException(String message, Throwable cause) {
    super(message, cause);
  }
}
