package dev.streamscore.etl;

import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.RejectReason;
import java.util.Objects;

/**
 * Why the ETL rejected an event, for one view ({@code LATE}) or all of them.
 *
 * @param reason the reason code
 * @param field the offending field or transform output; empty when the problem is not one column's
 * @param view the view the event is late for ({@code LATE} only); empty otherwise
 * @param message one sentence naming the field or view and the problem
 */
public record Rejection(RejectReason reason, String field, String view, String message) {
  public Rejection {
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(field, "field");
    Objects.requireNonNull(view, "view");
    Objects.requireNonNull(message, "message");
  }

  /** Duplicates are counted, not written: the first copy already carries everything. */
  public boolean writesDeadLetter() {
    return reason != RejectReason.REJECT_REASON_DUPLICATE;
  }

  /**
   * The dead letter for an event record of {@code events.<source>}.
   *
   * @param source the source name
   * @param topic the events topic the record was read from
   * @param partition its partition
   * @param offset its offset
   * @param key the record's key bytes (may be null)
   * @param value the record's value bytes, kept unchanged
   * @param recordTimestampMs the record's timestamp
   * @param stage {@code etl-flink}, {@code etl-spark} or {@code etl-core}
   * @param nowMs the rejection time
   */
  public DeadLetter toDeadLetter(
      String source,
      String topic,
      int partition,
      long offset,
      byte[] key,
      byte[] value,
      long recordTimestampMs,
      String stage,
      long nowMs) {
    return DeadLetters.of(
        new DeadLetters.Original(
            source, new RecordOrigin(topic, partition, offset), recordTimestampMs, key, value),
        reason,
        field,
        message,
        stage,
        nowMs);
  }
}
