package dev.streamscore.modelsync;

import java.util.Objects;

/**
 * Why the registry refused a request, in the registry's own terms; the gRPC service maps each
 * {@link Reason} to one status at its edge ({@code RegistryService}).
 */
final class RegistryException extends RuntimeException {
  /** What went wrong, each answered with one gRPC status. */
  enum Reason {
    /** A field of the request is malformed: INVALID_ARGUMENT. */
    INVALID,
    /** No such model, version or alias: NOT_FOUND. */
    NOT_FOUND,
    /** The alias moved since the caller read it: ABORTED. */
    STALE_REVISION,
    /** The alias has no earlier policy to return to: FAILED_PRECONDITION. */
    NOTHING_TO_ROLL_BACK,
    /** The registry is closed: UNAVAILABLE. */
    CLOSED,
    /** The journal or an artifact file failed: INTERNAL. */
    STORAGE,
    /** A stored artifact cannot be read: DATA_LOSS. */
    ARTIFACT_UNREADABLE
  }

  private final Reason reason;

  RegistryException(Reason reason, String message) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  RegistryException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  Reason reason() {
    return reason;
  }

  static RegistryException invalid(String message) {
    return new RegistryException(Reason.INVALID, message);
  }

  static RegistryException notFound(String message) {
    return new RegistryException(Reason.NOT_FOUND, message);
  }
}
