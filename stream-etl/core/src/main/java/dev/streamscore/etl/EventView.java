package dev.streamscore.etl;

import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.Value;
import java.util.Map;

/**
 * What the processor reads of an event: a parsed {@link Event}, or an {@link EventReader} that read
 * the parts straight from the record's bytes.
 */
interface EventView {
  String entityId();

  String eventId();

  long eventTimeMs();

  /**
   * Payload field {@code index} of the source's cleanser, named {@code name}: its value, or null
   * when the event has none.
   */
  Value field(int index, String name);

  static EventView of(Event event) {
    Map<String, Value> fields = event.getFieldsMap();
    return new EventView() {
      @Override
      public String entityId() {
        return event.getEntityId();
      }

      @Override
      public String eventId() {
        return event.getEventId();
      }

      @Override
      public long eventTimeMs() {
        return event.getEventTimeMs();
      }

      @Override
      public Value field(int index, String name) {
        return fields.get(name);
      }
    };
  }
}
