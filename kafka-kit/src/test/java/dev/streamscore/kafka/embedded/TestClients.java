package dev.streamscore.kafka.embedded;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Plain Kafka clients for tests: produce numbered strings, read them back. */
final class TestClients {
  private TestClients() {}

  static List<String> produce(EmbeddedKafka kafka, String topic, int count) {
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    List<String> sent = new ArrayList<>(count);
    try (var producer =
        new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      List<java.util.concurrent.Future<?>> acks = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        String value = "record-" + i;
        acks.add(producer.send(new ProducerRecord<>(topic, "key-" + (i % 97), value)));
        sent.add(value);
      }
      for (var ack : acks) {
        ack.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    } catch (ExecutionException e) {
      throw new AssertionError("send failed", e.getCause());
    }
    return sent;
  }

  /** Reads from the beginning until {@code expected} records arrived or the deadline passed. */
  static List<String> consume(EmbeddedKafka kafka, String topic, int expected, Duration timeout) {
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "test-" + topic + "-" + System.nanoTime());
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    List<String> received = new ArrayList<>();
    Instant deadline = Instant.now().plus(timeout);
    try (var consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of(topic));
      while (received.size() < expected && Instant.now().isBefore(deadline)) {
        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
          received.add(record.value());
        }
      }
    }
    return received;
  }
}
