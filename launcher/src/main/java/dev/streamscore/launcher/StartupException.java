package dev.streamscore.launcher;

/** The platform cannot start for a reason the user can fix; the message says what to change. */
final class StartupException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  StartupException(String message) {
    super(message);
  }

  StartupException(String message, Throwable cause) {
    super(message, cause);
  }
}
