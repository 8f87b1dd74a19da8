package dev.streamscore.featurestore;

import java.util.Objects;
import org.apache.kafka.common.TopicPartition;

/**
 * A partition of a topic the store's rows came from; the store keeps the next offset to read for
 * each, written with the rows. Stored as {@code topic:partition} ({@code features.user_txn:3}): a
 * topic name has no colon.
 */
public record SourcePartition(String topic, int partition) {
  public SourcePartition {
    Objects.requireNonNull(topic, "topic");
    if (topic.isEmpty() || topic.indexOf(':') >= 0) {
      throw new IllegalArgumentException("a topic name is not empty and has no ':', got " + topic);
    }
    if (partition < 0) {
      throw new IllegalArgumentException("a partition is >= 0, got " + partition);
    }
  }

  public static SourcePartition of(TopicPartition tp) {
    return new SourcePartition(tp.topic(), tp.partition());
  }

  /**
   * Reads the stored form.
   *
   * @throws IllegalArgumentException when {@code text} is not {@code topic:partition}
   */
  static SourcePartition parse(String text) {
    int colon = text.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("a source partition is topic:partition, got " + text);
    }
    try {
      return new SourcePartition(
          text.substring(0, colon), Integer.parseInt(text.substring(colon + 1)));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("a source partition is topic:partition, got " + text, e);
    }
  }

  public TopicPartition topicPartition() {
    return new TopicPartition(topic, partition);
  }

  /** {@code topic:partition}, the stored form. */
  @Override
  public String toString() {
    return topic + ":" + partition;
  }
}
