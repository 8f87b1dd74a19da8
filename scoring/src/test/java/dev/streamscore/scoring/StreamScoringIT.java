package dev.streamscore.scoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.kafka.Topics;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.modelsync.ModelAlias;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.Messages;
import dev.streamscore.proto.Supervised;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.MissingPolicy;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.RejectReason;
import dev.streamscore.proto.v1.Value;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StreamScoringIT {
  @TempDir Path dir;

  @Test
  void everyEventGivesExactlyOnePredictionOrOneDeadLetterAcrossARestart() throws Exception {
    int n = 3_000;
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Node node = new Node(dir);
        Admin admin = Admin.create(kafka.clientProperties())) {
      servingFraud(admin, node, 4);

      StreamScoring.Config config = config(kafka);
      try (KafkaProducer<String, byte[]> producer =
          new KafkaProducer<>(
              kafka.clientProperties(), new StringSerializer(), new ByteArraySerializer())) {
        send(producer, 0, n / 2);
        StreamScoring first =
            StreamScoring.start(config, scorerOf(node), () -> true, Clock.systemUTC());
        await().atMost(Duration.ofSeconds(60)).until(() -> first.counts().scored() > 200);
        first.close(); // mid-stream
        send(producer, n / 2, n);
        try (StreamScoring second =
            StreamScoring.start(config, scorerOf(node), () -> true, Clock.systemUTC())) {
          Map<String, Prediction> predictions = new HashMap<>();
          Map<Long, DeadLetter> dead = new HashMap<>();
          try (KafkaConsumer<String, byte[]> consumer = kafka.committedConsumer("check")) {
            consumer.subscribe(List.of("predictions.fraud", "events.dlq"));
            await()
                .atMost(Duration.ofSeconds(90))
                .until(
                    () -> {
                      for (var r : consumer.poll(Duration.ofMillis(200))) {
                        if (r.topic().equals("events.dlq")) {
                          DeadLetter d = DeadLetter.parseFrom(r.value());
                          assertThat(dead.put(d.getSourceOffset() * 10 + d.getSourcePartition(), d))
                              .isNull();
                        } else {
                          Prediction p = Prediction.parseFrom(r.value());
                          assertThat(predictions.put(p.getEventId(), p)).as("duplicate").isNull();
                        }
                      }
                      return predictions.size() + dead.size() >= n;
                    });
            // Nothing more arrives: exactly one record per event.
            assertThat(consumer.poll(Duration.ofSeconds(2))).isEmpty();
          }
          assertThat(dead).hasSize(n / 100);
          assertThat(predictions).hasSize(n - n / 100);
          assertThat(dead.values())
              .allSatisfy(
                  d -> {
                    assertThat(d.getReason()).isEqualTo(RejectReason.REJECT_REASON_UNSCORABLE);
                    assertThat(d.getMessage()).contains("request_features['amount'] is the string");
                  });
          Prediction p = predictions.get("e2");
          assertThat(p.getModelVersion()).isEqualTo(1);
          assertThat(p.getEventTimeMs()).isEqualTo(Node.NOW + 2);
          assertThat(p.getNodeId()).isEqualTo("stream");
          assertThat(p.getEntityIdsMap()).containsEntry("user_id", "u1");
          assertThat(p.getFeatureTimeMsMap()).containsKey("user_txn:txn_count_1h");
          assertThat(p.getRequestId()).startsWith("events.payments-");
        }
      }
    }
  }

  @Test
  void hostileRecordsBecomeOneDeadLetterEachAndScoringGoesOn() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Node node = new Node(dir);
        Admin admin = Admin.create(kafka.clientProperties())) {
      servingFraud(admin, node, 1);
      Event valid = event("u1", "ok", Node.NOW, 12.5);
      java.util.Random random = new java.util.Random(16);
      List<byte[][]> hostile = new java.util.ArrayList<>();
      for (int i = 0; i < 5; i++) {
        byte[] noise = new byte[1 + random.nextInt(300)];
        random.nextBytes(noise);
        hostile.add(new byte[][] {utf8("u1"), noise});
      }
      hostile.add(new byte[][] {utf8("u1"), null});
      hostile.add(new byte[][] {utf8("u1"), new byte[0]});
      hostile.add(new byte[][] {utf8(""), valid.toBuilder().setEntityId("").build().toByteArray()});
      for (long t : new long[] {Long.MAX_VALUE, Long.MIN_VALUE, -1}) {
        hostile.add(
            new byte[][] {utf8("u1"), valid.toBuilder().setEventTimeMs(t).build().toByteArray()});
      }
      hostile.add(
          new byte[][] {utf8("u1"), valid.toBuilder().setSource("nosuch").build().toByteArray()});
      hostile.add(
          new byte[][] {
            utf8("u1"),
            valid.toBuilder()
                .putFields(
                    "merchant_id", Value.newBuilder().setStringValue("m".repeat(1_040_000)).build())
                .putFields("amount", Value.newBuilder().setStringValue("x").build())
                .build()
                .toByteArray()
          });
      Map<String, Object> props = new HashMap<>(kafka.clientProperties());
      props.put("max.request.size", 1_048_576);
      int total = 0;
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
        int n = 0;
        for (byte[][] record : hostile) {
          producer.send(new ProducerRecord<>("events.payments", record[0], record[1]));
          Event follower = event("u1", "after-" + n++, Node.NOW + n, 10);
          producer.send(
              new ProducerRecord<>("events.payments", utf8("u1"), follower.toByteArray()));
          total += 2;
        }
        // Without a key, a valid event is still scored: stream scoring reads the event's entity.
        producer.send(new ProducerRecord<>("events.payments", null, valid.toByteArray()));
        total++;
        producer.flush();
      }
      StreamScoring.Config config = config(kafka);
      try (StreamScoring scoring =
          StreamScoring.start(config, scorerOf(node), () -> true, Clock.systemUTC())) {
        int expected = total;
        await()
            .atMost(Duration.ofSeconds(90))
            .until(() -> scoring.counts().scored() + scoring.counts().unscorable() >= expected);
        Map<String, Integer> predicted = new HashMap<>();
        List<DeadLetter> dead = new java.util.ArrayList<>();
        await()
            .atMost(Duration.ofSeconds(60))
            .untilAsserted(
                () -> {
                  predicted.clear();
                  dead.clear();
                  dev.streamscore.kafka.TopicReader.readAll(
                      kafka.clientProperties(),
                      "predictions.fraud",
                      Duration.ofSeconds(30),
                      r -> predicted.merge(prediction(r.value()).getEventId(), 1, Integer::sum));
                  dev.streamscore.kafka.TopicReader.readAll(
                      kafka.clientProperties(),
                      "events.dlq",
                      Duration.ofSeconds(30),
                      r -> dead.add(letter(r.value())));
                  assertThat(predicted.size() + dead.size()).isEqualTo(expected);
                });
        for (int i = 0; i < hostile.size(); i++) {
          assertThat(predicted).containsEntry("after-" + i, 1);
        }
        assertThat(predicted).containsEntry("ok", 1);
        assertThat(dead).hasSize(hostile.size());
        assertThat(dead)
            .allSatisfy(
                d -> {
                  assertThat(d.getReason())
                      .isIn(
                          RejectReason.REJECT_REASON_UNSCORABLE,
                          RejectReason.REJECT_REASON_INTERNAL);
                  assertThat(d.getMessage()).isNotBlank();
                  assertThat(d.getSerializedSize()).isLessThan(1_010_000);
                });
        assertThat(scoring.counts().unscorable()).isEqualTo(hostile.size());
        assertThat(scoring.running()).isTrue();
      }
    }
  }

  @Test
  void aStageWhoseStartFailsLooksUnhealthyAndTriesAgainUntilItRuns() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Node node = new Node(dir);
        Admin admin = Admin.create(kafka.clientProperties())) {
      servingFraud(admin, node, 2);
      StreamScoring.Config config = config(kafka);
      AtomicInteger attempts = new AtomicInteger();
      try (StreamScoringStage stage =
          new StreamScoringStage(
              config,
              node.agent,
              () -> {
                if (attempts.incrementAndGet() <= 2) {
                  throw new IllegalStateException("stream scoring did not start within 120 s");
                }
                return StreamScoring.start(config, scorerOf(node), () -> true, Clock.systemUTC());
              },
              Clock.systemUTC())) {
        // Between the failed attempts (1 s, then 2 s apart) the stage says why, never RUNNING.
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> stage.status().state() == Supervised.State.RESTARTING);
        assertThat(stage.status().reason())
            .isEqualTo("could not start: stream scoring did not start within 120 s");
        await()
            .atMost(Duration.ofSeconds(90))
            .until(() -> stage.status().state() == Supervised.State.RUNNING);
        assertThat(attempts).hasValue(3);
        assertThat(stage.status().reason()).isEmpty();
      }
    }
  }

  /** Topics of {@code partitions} partitions, u1's payments in the store, and fraud/prod at v1. */
  private void servingFraud(Admin admin, Node node, int partitions) throws Exception {
    Topics.using(admin)
        .ensure(
            List.of(
                new NewTopic("events.payments", partitions, (short) 1),
                new NewTopic("events.dlq", partitions, (short) 1)),
            Duration.ofSeconds(30));
    node.payments("u1", 5);
    node.client.register(
        TestModels.logisticRegression(dir.resolve("m.onnx"), 3, 1),
        Node.spec(MissingPolicy.MISSING_POLICY_USE_DEFAULT));
    node.client.promote("fraud", "prod", 1);
  }

  private StreamScoring.Config config(EmbeddedKafka kafka) {
    return new StreamScoring.Config(
        kafka.bootstrapServers(),
        "payments",
        new ModelAlias("fraud", "prod"),
        dir.resolve("streams"),
        "events.dlq");
  }

  private static byte[] utf8(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  private static Event event(String user, String id, long time, double amount) {
    return Event.newBuilder()
        .setSource("payments")
        .setEntityId(user)
        .setEventId(id)
        .setEventTimeMs(time)
        .putFields("amount", Value.newBuilder().setDoubleValue(amount).build())
        .putFields("merchant_id", Value.newBuilder().setStringValue("m1").build())
        .build();
  }

  private static Prediction prediction(byte[] bytes) {
    return Messages.parse(Prediction.parser(), bytes);
  }

  private static DeadLetter letter(byte[] bytes) {
    return Messages.parse(DeadLetter.parser(), bytes);
  }

  private static Scorer scorerOf(Node node) {
    return new Scorer(node.store, Node.SPEC, node.agent, "stream");
  }

  /** Events i in [from, to): user u1 or u{i}, one in a hundred with a string amount. */
  private static void send(KafkaProducer<String, byte[]> producer, int from, int to) {
    for (int i = from; i < to; i++) {
      String user = i % 2 == 0 ? "u1" : "u" + i;
      Value amount =
          i % 100 == 99
              ? Value.newBuilder().setStringValue("twelve").build()
              : Value.newBuilder().setDoubleValue(i % 300).build();
      Event e =
          Event.newBuilder()
              .setSource("payments")
              .setEntityId(user)
              .setEventId("e" + i)
              .setEventTimeMs(Node.NOW + i)
              .putFields("amount", amount)
              .putFields("merchant_id", Value.newBuilder().setStringValue("m1").build())
              .build();
      producer.send(new ProducerRecord<>("events.payments", user, e.toByteArray()));
    }
    producer.flush();
  }
}
