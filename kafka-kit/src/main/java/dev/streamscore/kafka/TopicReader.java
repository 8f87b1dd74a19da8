package dev.streamscore.kafka;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads a whole topic as it is now: every committed record from the beginning up to each
 * partition's end (the last stable offset, so open transactions are waited out and aborted ones
 * skipped). No consumer group is used or committed. For tests, checks and the CLI; not a stream.
 */
public final class TopicReader {
  private TopicReader() {}

  /**
   * Calls {@code each} with every committed record of {@code topic}, partition by partition in
   * offset order, and returns how many there were.
   *
   * @param clientProperties at least {@code bootstrap.servers}
   * @throws KafkaOperationException if the topic does not exist or the end is not reached within
   *     {@code timeout}
   */
  public static long readAll(
      Map<String, Object> clientProperties,
      String topic,
      Duration timeout,
      Consumer<ConsumerRecord<byte[], byte[]>> each) {
    Map<String, Object> props = new HashMap<>(clientProperties);
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5_000);
    Instant deadline = Instant.now().plus(timeout);
    long count = 0;
    try (KafkaConsumer<byte[], byte[]> consumer = TopicTail.atBeginning(props, topic, timeout)) {
      Map<TopicPartition, Long> end = consumer.endOffsets(consumer.assignment(), timeout);
      while (!reached(consumer, end)) {
        if (Instant.now().isAfter(deadline)) {
          throw new KafkaOperationException(
              "did not reach the end of " + topic + " within " + timeout + " (read " + count + ")");
        }
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          if (record.offset() < end.get(new TopicPartition(record.topic(), record.partition()))) {
            each.accept(record);
            count++;
          }
        }
      }
    }
    return count;
  }

  private static boolean reached(
      KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> end) {
    for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
      if (consumer.position(e.getKey()) < e.getValue()) {
        return false;
      }
    }
    return true;
  }
}
