package dev.streamscore.etl.spark;

import java.io.Serializable;

/**
 * One record of {@code events.<source>} as it travels through the job: the value stays serialized
 * (parsed once, in the group function) and the Kafka coordinates are kept for dead letters and for
 * ordering an entity's events. A Java bean, so Spark encodes it without Kryo.
 */
public class EventRow implements Serializable {
  private static final long serialVersionUID = 1L;

  private String entityId;
  private String topic;
  private int partition;
  private long offset;
  private long timestampMs;
  private byte[] key;
  private byte[] value;

  public EventRow() {}

  public EventRow(
      String topic, int partition, long offset, long timestampMs, byte[] key, byte[] value) {
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
    this.timestampMs = timestampMs;
    this.key = key;
    this.value = value;
    this.entityId = key == null ? "" : new String(key, java.nio.charset.StandardCharsets.UTF_8);
  }

  /** The entity id: the record key, which the validator sets to it. */
  public String getEntityId() {
    return entityId;
  }

  public void setEntityId(String entityId) {
    this.entityId = entityId;
  }

  public String getTopic() {
    return topic;
  }

  public void setTopic(String topic) {
    this.topic = topic;
  }

  public int getPartition() {
    return partition;
  }

  public void setPartition(int partition) {
    this.partition = partition;
  }

  public long getOffset() {
    return offset;
  }

  public void setOffset(long offset) {
    this.offset = offset;
  }

  public long getTimestampMs() {
    return timestampMs;
  }

  public void setTimestampMs(long timestampMs) {
    this.timestampMs = timestampMs;
  }

  public byte[] getKey() {
    return key;
  }

  public void setKey(byte[] key) {
    this.key = key;
  }

  public byte[] getValue() {
    return value;
  }

  public void setValue(byte[] value) {
    this.value = value;
  }
}
