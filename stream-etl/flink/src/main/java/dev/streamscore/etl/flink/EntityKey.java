package dev.streamscore.etl.flink;

import org.apache.flink.api.java.functions.KeySelector;

/** Keys events by entity id. */
final class EntityKey implements KeySelector<EventRecord, String> {
  private static final long serialVersionUID = 1L;

  @Override
  public String getKey(EventRecord record) {
    return record.entityId;
  }
}
