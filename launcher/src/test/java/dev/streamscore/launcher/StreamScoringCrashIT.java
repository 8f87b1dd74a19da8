package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.PointInTimeRule;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.kafka.TopicReader;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.Messages;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.Value;
import dev.streamscore.scoring.Consistency;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stream scoring in {@code up}: N events in, exactly N predictions out, across a SIGKILL; and every
 * prediction, before and after it, the training row of its event (the timelines restored with the
 * offsets).
 */
class StreamScoringCrashIT {
  private final Launcher launcher = new Launcher();

  @AfterEach
  void killLeftovers() {
    launcher.killAll();
  }

  @Test
  void exactlyOnePredictionPerEventAcrossASigkillAndRestart(@TempDir Path dir) throws Exception {
    int n = 40_000;
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        KafkaConsumer<String, byte[]> consumer = kafka.committedConsumer("check")) {
      Path data = dir.resolve("data");
      Launcher.Running first = up(kafka, data);
      register(first.endpoint("registry").orElseThrow(), dir.resolve("m.onnx"));
      produce(kafka, n);

      Map<String, Prediction> seen = new HashMap<>();
      consumer.subscribe(List.of("predictions.fraud"));
      await().atMost(Duration.ofSeconds(120)).until(() -> count(consumer, seen) >= n / 10);
      first.process.descendants().forEach(ProcessHandle::destroyForcibly);
      first.process.destroyForcibly(); // SIGKILL mid-stream
      first.process.waitFor(30, TimeUnit.SECONDS);
      assertThat(seen.size()).as("killed mid-stream").isLessThan(n);

      up(kafka, data);
      await().atMost(Duration.ofSeconds(180)).until(() -> count(consumer, seen) >= n);
      // Nothing more arrives: no event was scored twice.
      assertThat(count(consumer, seen)).isEqualTo(n);

      List<Consistency.Logged> log = new ArrayList<>();
      TopicReader.readAll(
          kafka.clientProperties(),
          "events.payments",
          Duration.ofSeconds(60),
          r ->
              log.add(
                  new Consistency.Logged(
                      new RecordOrigin(r.topic(), r.partition(), r.offset()),
                      Messages.parse(Event.parser(), r.value()))));
      Consistency.Report report =
          new Consistency(FeatureSpec.shippedPayments(), "payments", PointInTimeRule.LOG_ORDER)
              .check(log, Map.of(1L, SPEC), seen.values());
      assertThat(report.compared()).isEqualTo(n);
      assertThat(report.identical()).as(report.summary()).isEqualTo(n);
    }
  }

  private static final ModelVersionSpec SPEC =
      ModelVersionSpec.newBuilder()
          .setName("fraud")
          .setFormat(ModelFormat.MODEL_FORMAT_ONNX)
          .addInputs(ModelInput.newBuilder().setName("user_txn:txn_count_1h").setView("user_txn"))
          .addInputs(ModelInput.newBuilder().setName("amount"))
          .addOutputs(ModelOutput.newBuilder().setName("p0"))
          .addOutputs(ModelOutput.newBuilder().setName("p1"))
          .build();

  private Launcher.Running up(EmbeddedKafka kafka, Path data) throws Exception {
    Launcher.Running running = launcher.upOn(kafka.bootstrapServers(), data, "--engine", "none");
    running.awaitLine("ready", Duration.ofSeconds(90));
    return running;
  }

  /** Reads what has arrived; fails on a prediction seen twice; returns how many are distinct. */
  private static int count(KafkaConsumer<String, byte[]> consumer, Map<String, Prediction> seen)
      throws Exception {
    for (var r : consumer.poll(Duration.ofMillis(500))) {
      Prediction p = Prediction.parseFrom(r.value());
      assertThat(seen.put(p.getEventId(), p))
          .as("second prediction for " + p.getEventId())
          .isNull();
    }
    return seen.size();
  }

  private static void register(String registry, Path file) throws Exception {
    TestModels.logisticRegression(file, 2, 1);
    ManagedChannel channel = NettyChannelBuilder.forTarget(registry).usePlaintext().build();
    try {
      RegistryClient client = new RegistryClient(channel, Optional.empty(), "ci");
      client.register(file, SPEC);
      client.promote("fraud", "prod", 1);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static void produce(EmbeddedKafka kafka, int n) {
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(
            kafka.clientProperties(), new StringSerializer(), new ByteArraySerializer())) {
      long t0 = System.currentTimeMillis();
      for (int i = 0; i < n; i++) {
        String user = "u" + (i % 500);
        Event e =
            Event.newBuilder()
                .setSource("payments")
                .setEntityId(user)
                .setEventId("e" + i)
                .setEventTimeMs(t0 + i)
                .putFields("amount", Value.newBuilder().setDoubleValue(i % 700).build())
                .putFields("merchant_id", Value.newBuilder().setStringValue("m" + i % 31).build())
                .build();
        producer.send(new ProducerRecord<>("events.payments", user, e.toByteArray()));
      }
      producer.flush();
    }
  }
}
