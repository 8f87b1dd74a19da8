package dev.streamscore.etl;

import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.RejectReason;
import java.util.Objects;

/** The outcome of validating one raw record: exactly one of {@link Valid} or {@link Invalid}. */
public sealed interface Validation {

  /** The record is a valid event. */
  record Valid(Event event) implements Validation {
    public Valid {
      Objects.requireNonNull(event, "event");
    }
  }

  /**
   * The record is rejected.
   *
   * @param reason the reason code
   * @param field the offending field, or empty when the problem is not one field's
   * @param message one sentence naming the field and the problem
   */
  record Invalid(RejectReason reason, String field, String message) implements Validation {
    public Invalid {
      Objects.requireNonNull(reason, "reason");
      Objects.requireNonNull(field, "field");
      Objects.requireNonNull(message, "message");
    }
  }
}
