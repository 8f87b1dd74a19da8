package dev.streamscore.modelsync;

/** No loaded version can serve the request: the alias is unknown here or not loaded yet. */
public class ModelUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ModelUnavailableException(String message) {
    super(message);
  }
}
