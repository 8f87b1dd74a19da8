package dev.streamscore.kafka;

/** Topics did not become writable before a deadline. */
public final class TopicsNotReadyException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public TopicsNotReadyException(String message) {
    super(message);
  }
}
