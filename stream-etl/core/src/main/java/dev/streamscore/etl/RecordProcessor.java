package dev.streamscore.etl;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.RejectReason;

/**
 * One record of {@code events.<source>} through the {@link FeatureProcessor}, as every engine does
 * it: parse, check the key is the event's entity, process, and turn each rejection into a dead
 * letter that keeps the record's bytes and Kafka coordinates. The engines differ only in where the
 * state lives and where the output goes, so the dead letters and counts agree between them.
 *
 * <p>Not thread-safe: one per task, like the processor.
 */
public final class RecordProcessor {
  /** Where an engine puts what a record produced. */
  public interface Sink {
    /** A tile the event changed. */
    void row(TileUpdate update);

    /**
     * A rejection, counted by reason whether or not it writes a dead letter.
     *
     * @param view the view an event is LATE for; empty for every other reason
     */
    void rejected(RejectReason reason, String view);

    /** A dead letter, {@code DeadLetter} bytes keyed by the record's key, for the DLQ topic. */
    void deadLetter(byte[] key, byte[] deadLetter);
  }

  /** A record's Kafka coordinates and bytes. */
  public record Record(
      String topic, int partition, long offset, long timestampMs, byte[] key, byte[] value) {
    /** Where the record was, for the rows it changes. */
    SourcePosition position() {
      return partition < 0 || offset < 0
          ? SourcePosition.UNKNOWN
          : new SourcePosition(partition, offset, timestampMs);
    }
  }

  private final FeatureProcessor processor;
  private final String source;
  private final String stage;
  private final EventReader reader;

  /**
   * @param stage {@code etl-flink} or {@code etl-spark}: written into dead letters
   */
  public RecordProcessor(FeatureProcessor processor, String source, String stage) {
    this.processor = processor;
    this.source = source;
    this.stage = stage;
    this.reader = processor.reader();
  }

  /**
   * Processes one record for the entity {@code entityId} (the record key) with its state.
   *
   * @param nowMs processing time: the rows' {@code updated_at_ms} and the rejections' time
   */
  public void process(EntityState state, String entityId, Record record, long nowMs, Sink sink) {
    if (record.value() == null || record.value().length == 0) {
      malformed(record, "the record has no value", nowMs, sink);
      return;
    }
    EventView event;
    if (reader.read(record.value())) {
      event = reader;
    } else {
      try {
        event = EventView.of(Event.parseFrom(record.value()));
      } catch (InvalidProtocolBufferException e) {
        malformed(
            record,
            "the record is not a streamscore.v1.Event: " + DeadLetters.message(e.getMessage()),
            nowMs,
            sink);
        return;
      }
    }
    if (event.entityId().isEmpty()) {
      malformed(record, "the event has no entity id", nowMs, sink);
      return;
    }
    if (!event.entityId().equals(entityId)) {
      malformed(
          record,
          DeadLetters.message(
              "the record key '"
                  + entityId
                  + "' is not the event's entity id '"
                  + event.entityId()
                  + "'"),
          nowMs,
          sink);
      return;
    }
    FeatureProcessor.Outcome outcome;
    try {
      outcome = processor.process(state, event, nowMs, record.position());
    } catch (RuntimeException e) {
      // A defect of ours, not the record's: the engine would fail on this offset after every
      // restart. Set the record aside with the reason and go on.
      reject(
          record,
          new Rejection(
              RejectReason.REJECT_REASON_INTERNAL, "", "", DeadLetters.internal(stage, e)),
          nowMs,
          sink);
      return;
    }
    for (TileUpdate update : outcome.updates()) {
      sink.row(update);
    }
    for (Rejection r : outcome.rejections()) {
      reject(record, r, nowMs, sink);
    }
  }

  private void malformed(Record record, String message, long nowMs, Sink sink) {
    reject(
        record, new Rejection(RejectReason.REJECT_REASON_MALFORMED, "", "", message), nowMs, sink);
  }

  private void reject(Record record, Rejection r, long nowMs, Sink sink) {
    sink.rejected(r.reason(), r.view());
    if (r.writesDeadLetter()) {
      sink.deadLetter(
          record.key(),
          r.toDeadLetter(
                  source,
                  record.topic(),
                  record.partition(),
                  record.offset(),
                  record.key(),
                  record.value(),
                  record.timestampMs(),
                  stage,
                  nowMs)
              .toByteArray());
    }
  }
}
