package dev.streamscore.scoring;

import java.util.Objects;

/**
 * Why a request was not scored, in the scorer's own terms: the gRPC service answers each {@link
 * Reason} with one status ({@link GrpcScoring#status}); stream scoring retries the reasons that
 * pass ({@link Reason#retriable()}) and dead-letters the others.
 */
public final class ScoringException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What kept a request from being scored. */
  public enum Reason {
    /** A field of the request is malformed or missing. */
    INVALID_REQUEST(false),
    /** The node serves no model of that name. */
    UNKNOWN_MODEL(false),
    /** The node serves the model, but not that alias or version. */
    NOT_SERVED(true),
    /** The alias is followed but no version is loaded yet. */
    NOT_LOADED(true),
    /** The node cannot score now (its store is bootstrapping, or it is stopping). */
    NOT_READY(true),
    /**
     * The entity is in a partition of the feature topics this node does not hold (a node started
     * with {@code --partitions}): another node holds it.
     */
    NOT_HELD(false),
    /** A stored feature is missing or expired and the model refuses a default for it. */
    FEATURE_UNAVAILABLE(false),
    /** The model failed or returned what its entry does not declare. */
    MODEL_FAILED(false),
    /** The caller's deadline passed before scoring began. */
    DEADLINE_PASSED(false),
    /** The node is scoring all it may at once. */
    OVERLOADED(true);

    private final boolean retriable;

    Reason(boolean retriable) {
      this.retriable = retriable;
    }

    /** True when the same request may be scored a little later. */
    public boolean retriable() {
      return retriable;
    }
  }

  private final Reason reason;

  ScoringException(Reason reason, String message) {
    super(message, null, false, false); // expected user errors: no stack trace
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public Reason reason() {
    return reason;
  }

  static ScoringException invalid(String message) {
    return new ScoringException(Reason.INVALID_REQUEST, message);
  }
}
