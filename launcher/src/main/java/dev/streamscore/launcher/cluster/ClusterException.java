package dev.streamscore.launcher.cluster;

/** The local cluster cannot do what was asked; the message says what to do about it. */
public final class ClusterException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ClusterException(String message) {
    super(message);
  }

  public ClusterException(String message, Throwable cause) {
    super(message, cause);
  }
}
