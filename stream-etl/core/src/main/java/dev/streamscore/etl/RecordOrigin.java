package dev.streamscore.etl;

/**
 * Where a raw record was read: its topic, partition and offset ({@code -1, -1} for a record that
 * arrived through the gRPC gateway and was never in Kafka).
 */
public record RecordOrigin(String topic, int partition, long offset) {
  public RecordOrigin {
    if (topic == null || topic.isBlank()) {
      throw new IllegalArgumentException("topic must not be blank");
    }
    if (partition < -1 || offset < -1) {
      throw new IllegalArgumentException(
          "partition and offset must be >= -1, got " + partition + " and " + offset);
    }
  }

  /** {@code topic-partition-offset}: the id of an event whose source declares no event id. */
  public String asEventId() {
    return topic + "-" + partition + "-" + offset;
  }
}
