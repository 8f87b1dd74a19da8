package dev.streamscore.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Follows a topic that is still being written: every committed record from the beginning, read in
 * pieces, each piece ending once no record has come for a while. No consumer group is used. For the
 * demo and checks that wait for a stage to pass what was published; {@link TopicReader} reads a
 * topic as it is now.
 */
public final class TopicTail implements AutoCloseable {
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final String topic;

  private TopicTail(KafkaConsumer<byte[], byte[]> consumer, String topic) {
    this.consumer = consumer;
    this.topic = topic;
  }

  /**
   * Starts at the beginning of every partition of {@code topic}.
   *
   * @param clientProperties at least {@code bootstrap.servers}
   * @throws KafkaOperationException if the topic does not exist
   */
  public static TopicTail fromBeginning(
      Map<String, Object> clientProperties, String topic, Duration timeout) {
    return new TopicTail(atBeginning(clientProperties, topic, timeout), topic);
  }

  /**
   * A read-committed consumer without a group, assigned every partition of {@code topic} at its
   * beginning.
   *
   * @throws KafkaOperationException if the topic does not exist
   */
  static KafkaConsumer<byte[], byte[]> atBeginning(
      Map<String, Object> clientProperties, String topic, Duration timeout) {
    Map<String, Object> props = new HashMap<>(clientProperties);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.remove(ConsumerConfig.GROUP_ID_CONFIG);
    KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    try {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic, timeout).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      if (partitions.isEmpty()) {
        throw new KafkaOperationException("topic " + topic + " does not exist");
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
    } catch (RuntimeException e) {
      consumer.close();
      throw e;
    }
    return consumer;
  }

  /**
   * The records that come until none has for {@code quiet}, or until {@code atMost} has passed.
   *
   * @throws KafkaOperationException when records still come after {@code atMost}
   */
  public List<ConsumerRecord<byte[], byte[]>> readUntilQuiet(Duration quiet, Duration atMost) {
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    long began = System.nanoTime();
    long lastSeen = began;
    while (System.nanoTime() - lastSeen < quiet.toNanos()) {
      if (System.nanoTime() - began > atMost.toNanos()) {
        throw new KafkaOperationException(
            topic
                + " did not go quiet for "
                + quiet
                + " within "
                + atMost
                + " (read "
                + out.size()
                + ")");
      }
      ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
      records.forEach(out::add);
      if (!records.isEmpty()) {
        lastSeen = System.nanoTime();
      }
    }
    return out;
  }

  @Override
  public void close() {
    consumer.close();
  }
}
