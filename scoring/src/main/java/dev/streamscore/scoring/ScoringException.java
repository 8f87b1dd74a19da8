package dev.streamscore.scoring;

import io.grpc.Status;

/** A request that cannot be scored, with the status a gRPC call answers and a reason to act on. */
public final class ScoringException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Status.Code code;

  ScoringException(Status.Code code, String message) {
    super(message, null, false, false); // expected user errors: no stack trace
    this.code = code;
  }

  public Status.Code code() {
    return code;
  }

  public Status status() {
    return Status.fromCode(code).withDescription(getMessage());
  }

  static ScoringException invalid(String message) {
    return new ScoringException(Status.Code.INVALID_ARGUMENT, message);
  }
}
