package dev.streamscore.ingest;

/** The gateway could not start; the message says what to change. */
public final class IngestGatewayException extends RuntimeException {
  public IngestGatewayException(String message, Throwable cause) {
    super(message, cause);
  }
}
