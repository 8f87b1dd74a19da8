package dev.streamscore.launcher;

import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.PartitionRange;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * An events topic as read: every partition's events from its start to the end it had when the read
 * began, partitions one after the other (an entity's events share a partition, so each entity's log
 * order is kept).
 */
record EventsCut(List<Event> log, List<PartitionRange> ranges) {

  static EventsCut read(String bootstrap, String topic) {
    return read(bootstrap, topic, null);
  }

  /**
   * As {@link #read(String, String)}, but exactly the offsets of {@code ranges} when given (a cut
   * made again from its lineage).
   *
   * @throws IllegalArgumentException when a range's partition is gone or its offsets are no longer
   *     all in Kafka
   */
  static EventsCut read(String bootstrap, String topic, List<PartitionRange> ranges) {
    Map<String, Object> p = new HashMap<>();
    p.putAll(KafkaClients.config(bootstrap));
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5_000);
    p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (PartitionInfo info :
          consumer.listTopics(Duration.ofSeconds(30)).getOrDefault(topic, List.of())) {
        partitions.add(new TopicPartition(topic, info.partition()));
      }
      partitions.sort(Comparator.comparingInt(TopicPartition::partition));
      Map<TopicPartition, Long> starts =
          new HashMap<>(consumer.beginningOffsets(partitions, Duration.ofSeconds(30)));
      Map<TopicPartition, Long> ends =
          new HashMap<>(consumer.endOffsets(partitions, Duration.ofSeconds(30)));
      if (ranges != null) {
        List<TopicPartition> wanted = new ArrayList<>();
        for (PartitionRange r : ranges) {
          TopicPartition tp = new TopicPartition(topic, r.getPartition());
          if (!starts.containsKey(tp)
              || starts.get(tp) > r.getFromOffset()
              || ends.get(tp) < r.getToOffset()) {
            throw new IllegalArgumentException(
                "offsets ["
                    + r.getFromOffset()
                    + ", "
                    + r.getToOffset()
                    + ") of "
                    + tp
                    + " are no longer all in Kafka"
                    + (starts.containsKey(tp)
                        ? " (it holds [" + starts.get(tp) + ", " + ends.get(tp) + "))"
                        : ""));
          }
          wanted.add(tp);
          starts.put(tp, r.getFromOffset());
          ends.put(tp, r.getToOffset());
        }
        partitions = wanted;
      }
      List<Event> log = new ArrayList<>();
      List<PartitionRange> read = new ArrayList<>();
      for (TopicPartition tp : partitions) {
        long start = starts.get(tp);
        long end = ends.get(tp);
        read.add(
            PartitionRange.newBuilder()
                .setPartition(tp.partition())
                .setFromOffset(start)
                .setToOffset(end)
                .build());
        consumer.assign(List.of(tp));
        consumer.seek(tp, start);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (consumer.position(tp) < end) {
          if (System.nanoTime() - deadline > 0) {
            throw new org.apache.kafka.common.KafkaException(
                "partition " + tp.partition() + " not read to offset " + end + " in 2 minutes");
          }
          for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
            if (r.offset() < end) {
              try {
                log.add(Event.parseFrom(r.value()));
              } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                // not an event: no row
              }
            }
          }
        }
      }
      return new EventsCut(log, read);
    }
  }
}
