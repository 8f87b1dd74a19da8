package dev.streamscore.scoring.monitor;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.Label;
import dev.streamscore.proto.v1.Value;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Reads labels: {@code Label} records of {@code labels.<source>} (protobuf, or its JSON form {@code
 * {"id": "r1", "value": 1}} for producers such as kcat), and, for sources configured with a label
 * field, that field of each event of {@code events.<source>} as the label of the event's own
 * prediction. A label is 0 or 1 (or a boolean); anything else is counted as bad and skipped.
 */
public final class LabelReader {
  /** Labels read and labels skipped as unreadable. */
  public record Counts(long read, long bad) {}

  private final Map<String, String> fieldByEventsTopic = new HashMap<>();
  private final AtomicLong read = new AtomicLong();
  private final AtomicLong bad = new AtomicLong();

  LabelReader(Map<String, String> labelFields) {
    labelFields.forEach(
        (source, field) -> fieldByEventsTopic.put(TopicNames.events(source), field));
  }

  /** Whether {@code topic} holds labels this reader reads. */
  boolean reads(String topic) {
    return TopicNames.isLabels(topic) || fieldByEventsTopic.containsKey(topic);
  }

  void read(ConsumerRecord<byte[], byte[]> r, LabelJoin join) {
    String field = fieldByEventsTopic.get(r.topic());
    if (field != null) {
      fromEvent(r, field, join);
      return;
    }
    Label label = parse(r.value());
    if (label == null
        || label.getId().isEmpty()
        || !(label.getValue() == 0 || label.getValue() == 1)) {
      bad.incrementAndGet();
      return;
    }
    read.incrementAndGet();
    long at = label.getObservedAtMs() > 0 ? label.getObservedAtMs() : r.timestamp();
    join.label(label.getId(), label.getValue() == 1, at);
  }

  private void fromEvent(ConsumerRecord<byte[], byte[]> r, String field, LabelJoin join) {
    Event e;
    try {
      e = r.value() == null ? null : Event.parseFrom(r.value());
    } catch (InvalidProtocolBufferException ex) {
      return; // not an event: the events topic's own consumers deal with it
    }
    Value v = e == null ? null : e.getFieldsMap().get(field);
    if (v == null || e.getEventId().isEmpty()) {
      return; // an event without a label is not a label
    }
    Boolean positive =
        switch (v.getKindCase()) {
          case BOOL_VALUE -> v.getBoolValue();
          case LONG_VALUE ->
              v.getLongValue() == 1 ? Boolean.TRUE : v.getLongValue() == 0 ? Boolean.FALSE : null;
          case DOUBLE_VALUE ->
              v.getDoubleValue() == 1
                  ? Boolean.TRUE
                  : v.getDoubleValue() == 0 ? Boolean.FALSE : null;
          default -> null;
        };
    if (positive == null) {
      bad.incrementAndGet();
      return;
    }
    read.incrementAndGet();
    join.label(e.getEventId(), positive, e.getEventTimeMs());
  }

  private static Label parse(byte[] value) {
    if (value == null || value.length == 0) {
      return null;
    }
    if (value[0] == '{') {
      try {
        Label.Builder b = Label.newBuilder();
        JsonFormat.parser().merge(new String(value, StandardCharsets.UTF_8), b);
        return b.build();
      } catch (InvalidProtocolBufferException | RuntimeException e) {
        return null;
      }
    }
    try {
      return Label.parseFrom(value);
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  Counts counts() {
    return new Counts(read.get(), bad.get());
  }
}
