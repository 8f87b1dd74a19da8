package dev.streamscore.kafka.embedded;

/** The embedded broker could not start; the message says why in one sentence. */
public final class EmbeddedKafkaException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public EmbeddedKafkaException(String message) {
    super(message);
  }

  public EmbeddedKafkaException(String message, Throwable cause) {
    super(message, cause);
  }
}
