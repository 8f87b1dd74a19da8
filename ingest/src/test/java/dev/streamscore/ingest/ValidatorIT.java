package dev.streamscore.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.RejectReason;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ValidatorIT {
  private static final int TOTAL = 10_000;
  // Inside the shipped spec's event-time window (30 days back) whenever the test runs.
  private static final long BASE_TIME = System.currentTimeMillis() - 3_600_000L;

  @Test
  void everyRawRecordBecomesExactlyOneEventOrDeadLetter(@TempDir Path state) throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Validator validator =
            Validator.start(
                ValidatorConfig.defaults(kafka.bootstrapServers(), state),
                FeatureSpec.shippedPayments(),
                Clock.systemUTC())) {
      Map<RejectReason, Integer> expectedRejects = new EnumMap<>(RejectReason.class);
      int expectedValid = produce(kafka, expectedRejects);

      List<ConsumerRecord<byte[], byte[]>> events =
          readCommitted(kafka, "events.payments", expectedValid);
      int expectedDead = TOTAL - expectedValid;
      List<ConsumerRecord<byte[], byte[]>> dead = readCommitted(kafka, "events.dlq", expectedDead);

      assertThat(events).hasSize(expectedValid);
      assertThat(dead).hasSize(expectedDead);
      for (var record : events) {
        Event event = Event.parseFrom(record.value());
        assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo(event.getEntityId());
        assertThat(event.getRawTopic()).isEqualTo("raw.payments");
      }
      Map<RejectReason, Integer> actualRejects = new EnumMap<>(RejectReason.class);
      for (var record : dead) {
        DeadLetter letter = DeadLetter.parseFrom(record.value());
        actualRejects.merge(letter.getReason(), 1, Integer::sum);
        assertThat(letter.getStage()).isEqualTo("validator");
        assertThat(letter.getSourceTopic()).isEqualTo("raw.payments");
        assertThat(letter.getOriginalValue().isEmpty()).isFalse();
        assertThat(letter.getMessage()).isNotBlank();
      }
      assertThat(actualRejects).isEqualTo(expectedRejects);
      assertThat(validator.counters().get("payments.received")).isEqualTo(TOTAL);
      assertThat(validator.counters().get("payments.valid")).isEqualTo(expectedValid);
    }
  }

  @Test
  void aStartUpFailureNamesTheTransactionsLeftOpen(@TempDir Path state) throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults())) {
      ValidatorConfig config = ValidatorConfig.defaults(kafka.bootstrapServers(), state);
      assertThat(Validator.openTransactions(config)).startsWith("no open transactions");
      Map<String, Object> props = new HashMap<>();
      props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
      props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "crashed-run-1");
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
        producer.initTransactions();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>("raw.payments", new byte[] {1})).get();
        // Never committed: as a run killed inside a transaction leaves it.
        assertThat(Validator.openTransactions(config))
            .startsWith("open transactions: [crashed-run-1 Ongoing")
            .contains("raw.payments-");
        // Open, but known to its coordinator: not hanging, whatever its age; it still commits.
        try (org.apache.kafka.clients.admin.Admin admin =
            org.apache.kafka.clients.admin.Admin.create(kafka.clientProperties())) {
          List<org.apache.kafka.common.TopicPartition> partitions = new ArrayList<>();
          for (int p = 0; p < producer.partitionsFor("raw.payments").size(); p++) {
            partitions.add(new org.apache.kafka.common.TopicPartition("raw.payments", p));
          }
          assertThat(HangingTransactions.abort(admin, partitions, Duration.ZERO, Clock.systemUTC()))
              .isZero();
        }
        producer.commitTransaction();
      }
    }
  }

  /** Produces TOTAL records, 10% broken in four ways; returns how many are valid. */
  private static int produce(EmbeddedKafka kafka, Map<RejectReason, Integer> rejects)
      throws Exception {
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    Random random = new Random(7);
    int valid = 0;
    try (var producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
      for (int i = 0; i < TOTAL; i++) {
        String json =
            "{\"user_id\":\"u%d\",\"txn_id\":\"t%d\",\"ts\":%d,\"amount\":%d.5,\"merchant_id\":\"m%d\"}"
                .formatted(random.nextInt(500), i, BASE_TIME + i, random.nextInt(900), i % 40);
        if (i % 10 == 0) {
          RejectReason reason =
              switch ((i / 10) % 4) {
                case 0 -> RejectReason.REJECT_REASON_MALFORMED;
                case 1 -> RejectReason.REJECT_REASON_MISSING_FIELD;
                case 2 -> RejectReason.REJECT_REASON_WRONG_TYPE;
                default -> RejectReason.REJECT_REASON_OUT_OF_RANGE;
              };
          json =
              switch (reason) {
                case REJECT_REASON_MALFORMED -> json.substring(0, json.length() / 2);
                case REJECT_REASON_MISSING_FIELD -> json.replace("\"merchant_id\"", "\"merchant\"");
                case REJECT_REASON_WRONG_TYPE ->
                    json.replace("\"amount\":", "\"amount\":\"x\",\"z\":");
                default -> json.replace("\"amount\":", "\"amount\":-");
              };
          rejects.merge(reason, 1, Integer::sum);
        } else {
          valid++;
        }
        acks.add(
            producer.send(
                new ProducerRecord<>("raw.payments", json.getBytes(StandardCharsets.UTF_8))));
      }
      for (var ack : acks) {
        ack.get();
      }
    }
    return valid;
  }

  /**
   * Reads a topic with read_committed until {@code expected} records arrived (or 60 s passed), then
   * keeps polling for 2 s more so that any surplus record would be seen.
   */
  private static List<ConsumerRecord<byte[], byte[]>> readCommitted(
      EmbeddedKafka kafka, String topic, int expected) {
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "check-" + topic + "-" + System.nanoTime());
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    try (var consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      Instant deadline = Instant.now().plusSeconds(60);
      while (out.size() < expected && Instant.now().isBefore(deadline)) {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
      Instant surplusDeadline = Instant.now().plusSeconds(2);
      while (Instant.now().isBefore(surplusDeadline)) {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
    }
    return out;
  }
}
