package dev.streamscore.etl.spark;

import java.io.Serializable;

/**
 * A record the job writes, in the columns Spark's Kafka sink reads: a tile row to {@code
 * features.<view>} or a dead letter to {@code events.dlq}. A Java bean.
 */
public class OutRow implements Serializable {
  private static final long serialVersionUID = 1L;

  private String topic;
  private int partition;
  private byte[] key;
  private byte[] value;

  public OutRow() {}

  public OutRow(String topic, int partition, byte[] key, byte[] value) {
    this.topic = topic;
    this.partition = partition;
    this.key = key;
    this.value = value;
  }

  public String getTopic() {
    return topic;
  }

  public void setTopic(String topic) {
    this.topic = topic;
  }

  /** The entity's partition, as its events' and as Kafka's default partitioner gives it. */
  public int getPartition() {
    return partition;
  }

  public void setPartition(int partition) {
    this.partition = partition;
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
