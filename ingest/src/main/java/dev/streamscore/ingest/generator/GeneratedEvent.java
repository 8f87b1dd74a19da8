package dev.streamscore.ingest.generator;

import dev.streamscore.proto.v1.RejectReason;
import java.util.Objects;

/**
 * One generated payments event: its JSON bytes and what the pipeline should make of it.
 *
 * @param key the user id (the raw topic's key), or null for a payload too broken to carry one
 * @param json the payload, one line of UTF-8 JSON (or deliberately broken JSON), no newline
 * @param kind why it was generated
 * @param expectedReject the reason the validator must give, or {@code REJECT_REASON_UNSPECIFIED}
 *     for an event that is valid
 * @param fraud whether it belongs to a fraud burst (its {@code is_fraud} label is true)
 */
public record GeneratedEvent(
    String key, byte[] json, Kind kind, RejectReason expectedReject, boolean fraud) {

  /** Why an event was generated. */
  public enum Kind {
    /** A normal event, in time order. */
    VALID,
    /** A valid event whose event time lies in the past. */
    OUT_OF_ORDER,
    /** An exact copy of an earlier valid event. */
    DUPLICATE,
    /** Broken in the way {@link GeneratedEvent#expectedReject()} names. */
    INVALID
  }

  public GeneratedEvent {
    Objects.requireNonNull(json, "json");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(expectedReject, "expectedReject");
    if ((kind == Kind.INVALID) == (expectedReject == RejectReason.REJECT_REASON_UNSPECIFIED)) {
      throw new IllegalArgumentException(
          "an INVALID event needs a reject reason and only it: " + kind + " " + expectedReject);
    }
  }

  /** Whether the validator accepts it. */
  public boolean valid() {
    return kind != Kind.INVALID;
  }
}
