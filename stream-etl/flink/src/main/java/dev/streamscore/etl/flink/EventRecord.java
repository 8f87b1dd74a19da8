package dev.streamscore.etl.flink;

import java.nio.charset.StandardCharsets;

/**
 * One record of {@code events.<source>} as it travels through the job: the value stays serialized
 * (it is parsed once, in the keyed function) and the Kafka coordinates are kept for dead letters. A
 * Flink POJO: public fields and a no-argument constructor, so Flink serializes it without Kryo.
 */
public class EventRecord {
  /** The entity id: the record key, which the validator sets to it. */
  public String entityId;

  public String topic;
  public int partition;
  public long offset;
  public long timestamp;
  public byte[] key;
  public byte[] value;

  public EventRecord() {}

  public EventRecord(
      String topic, int partition, long offset, long timestamp, byte[] key, byte[] value) {
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
    this.timestamp = timestamp;
    this.key = key;
    this.value = value;
    this.entityId = key == null ? "" : new String(key, StandardCharsets.UTF_8);
  }
}
