package dev.streamscore.modelsync;

/** No loaded version can serve the request; {@link #reason()} says why. */
public class ModelUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why no version can serve. */
  public enum Reason {
    /** This node serves no alias of that model at all. */
    UNKNOWN_MODEL,
    /** This node serves the model, but not that alias or pinned version. */
    NOT_SERVED,
    /** The alias is served here but no version has loaded yet. */
    NOT_LOADED
  }

  private final Reason reason;

  public ModelUnavailableException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
