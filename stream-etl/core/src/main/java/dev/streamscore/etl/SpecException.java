package dev.streamscore.etl;

/**
 * A feature-definition spec is invalid. The message is one sentence that names the file, the line,
 * the element and the problem: {@code payments.yaml:12: source 'payments' field 'amount': unknown
 * type 'float' (expected one of double, long, string, bool, timestamp)}.
 */
public final class SpecException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public SpecException(String message) {
    super(message);
  }
}
