package dev.streamscore.etl.flink;

/**
 * A record the job writes: a tile row to {@code features.<view>} or a dead letter to {@code
 * events.dlq}. A Flink POJO.
 */
public class KafkaOut {
  public String topic;

  /** Set for tile rows, which go to their entity's partition; null lets Kafka hash the key. */
  public String entityId;

  public byte[] key;
  public byte[] value;
  public long timestamp;

  public KafkaOut() {}

  public KafkaOut(String topic, String entityId, byte[] key, byte[] value, long timestamp) {
    this.topic = topic;
    this.entityId = entityId;
    this.key = key;
    this.value = value;
    this.timestamp = timestamp;
  }
}
