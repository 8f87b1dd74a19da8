package dev.streamscore.kafka;

/** A Kafka admin or broker operation failed; the message names the operation. */
public final class KafkaOperationException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public KafkaOperationException(String operation, Throwable cause) {
    super(operation + " failed: " + (cause == null ? "unknown cause" : cause.getMessage()), cause);
  }

  /** A failure described in full by {@code message}. */
  public KafkaOperationException(String message) {
    super(message);
  }
}
