package dev.streamscore.scoring.monitor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.v1.Label;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.ReferenceProfile;
import dev.streamscore.proto.v1.Score;
import dev.streamscore.scoring.PredictionLog;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

class PredictionMonitorIT {
  @Test
  void countsEveryPredictionOfTheLogOnceAndAFreshMonitorReadsTheSameWindowsBack() throws Exception {
    ReferenceProfile profile = DriftWindowsTest.profile(5_000, 1);
    // Version 1 has a profile; version 2 the registry cannot describe.
    Versions profiles =
        (model, version) ->
            version == 1
                ? Optional.of(ModelVersionSpec.newBuilder().setProfile(profile).build())
                : Optional.empty();
    MonitorConfig config = MonitorConfig.defaults();
    Random random = new Random(2);
    long now = System.currentTimeMillis();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults())) {
      try (PredictionLog log = PredictionLog.start(kafka.bootstrapServers(), 10_000)) {
        for (int i = 0; i < 3_000; i++) {
          long at = now - 30 * 60_000 + i * 600L;
          Prediction p = DriftWindowsTest.prediction(DriftWindowsTest.inputs(random, 0), at);
          log.publish(i % 10 == 0 ? p.toBuilder().setModelVersion(2).build() : p);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> log.sent() == 3_000);
      }
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(
              kafka.clientProperties(), new ByteArraySerializer(), new ByteArraySerializer())) {
        producer.send(new ProducerRecord<>("predictions.m", new byte[] {(byte) 0xff, 1, 2})).get();
      }

      List<ColumnDrift> first;
      try (PredictionMonitor monitor =
          PredictionMonitor.start(kafka.bootstrapServers(), profiles, config, Clock.systemUTC())) {
        await().atMost(Duration.ofSeconds(30)).until(monitor::caughtUp);
        assertThat(monitor.read()).isEqualTo(3_001);
        assertThat(monitor.unreadable()).isEqualTo(1);
        assertThat(monitor.unmonitored()).containsExactlyEntriesOf(java.util.Map.of("m@2", 300L));
        first = monitor.drift("m", now);
      }
      ColumnDrift x0hour =
          first.stream()
              .filter(d -> d.name().equals("x0") && d.window().equals("1h"))
              .findFirst()
              .orElseThrow();
      assertThat(x0hour.rows()).isEqualTo(2_700);
      assertThat(x0hour.psi()).isLessThan(DriftWindowsTest.PSI_ALERT);

      try (PredictionMonitor again =
          PredictionMonitor.start(kafka.bootstrapServers(), profiles, config, Clock.systemUTC())) {
        await().atMost(Duration.ofSeconds(30)).until(again::caughtUp);
        List<ColumnDrift> second = again.drift("m", now);
        assertThat(second).hasSameSizeAs(first);
        for (int i = 0; i < first.size(); i++) {
          assertThat(second.get(i).live()).isEqualTo(first.get(i).live());
        }
      }
    }
  }

  @Test
  void predictionsReadWhileTheRegistryCannotAnswerAreHeldAndCountedOnceItDoes() throws Exception {
    ReferenceProfile profile = DriftWindowsTest.profile(5_000, 1);
    java.util.concurrent.atomic.AtomicBoolean answers =
        new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.atomic.AtomicInteger refused =
        new java.util.concurrent.atomic.AtomicInteger();
    Versions registry =
        (model, version) -> {
          if (!answers.get()) {
            refused.incrementAndGet();
            throw new Versions.Unavailable("the registry is down");
          }
          return Optional.of(ModelVersionSpec.newBuilder().setProfile(profile).build());
        };
    long now = System.currentTimeMillis();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults())) {
      try (PredictionLog log = PredictionLog.start(kafka.bootstrapServers(), 10_000)) {
        Random random = new Random(5);
        for (int i = 0; i < 1_000; i++) {
          log.publish(
              DriftWindowsTest.prediction(
                  DriftWindowsTest.inputs(random, 0), now - 20 * 60_000 + i * 1_000L));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> log.sent() == 1_000);
      }
      try (PredictionMonitor monitor =
          PredictionMonitor.start(
              kafka.bootstrapServers(), registry, MonitorConfig.defaults(), Clock.systemUTC())) {
        // Asked and refused again and again, the monitor holds the predictions and is not caught
        // up: a monitor whose registry is down must not look healthy.
        await().atMost(Duration.ofSeconds(30)).until(() -> refused.get() >= 3);
        assertThat(monitor.caughtUp()).isFalse();
        assertThat(monitor.unmonitored()).isEmpty();
        answers.set(true);
        await().atMost(Duration.ofSeconds(30)).until(monitor::caughtUp);
        assertThat(monitor.unmonitored()).isEmpty();
        assertThat(monitor.unreadable()).isZero();
        ColumnDrift x0hour =
            monitor.drift("m", System.currentTimeMillis()).stream()
                .filter(d -> d.name().equals("x0") && d.window().equals("1h"))
                .findFirst()
                .orElseThrow();
        assertThat(x0hour.rows()).isEqualTo(1_000);
      }
    }
  }

  @Test
  void aMonitorStartedBeforeItsBrokerIsNotCaughtUpUntilItReachesItAndThenReadsEveryPrediction()
      throws Exception {
    ReferenceProfile profile = DriftWindowsTest.profile(5_000, 1);
    Versions profiles =
        (model, version) -> Optional.of(ModelVersionSpec.newBuilder().setProfile(profile).build());
    long now = System.currentTimeMillis();
    // A clock that stands still: finding the broker and its topics must not wait for it to move.
    Clock still = Clock.fixed(java.time.Instant.ofEpochMilli(now), java.time.ZoneOffset.UTC);
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    try (PredictionMonitor monitor =
        PredictionMonitor.start("127.0.0.1:" + port, profiles, MonitorConfig.defaults(), still)) {
      // Past the 5 s a topic listing may take: a monitor that gave up would stop here.
      await()
          .during(Duration.ofSeconds(7))
          .atMost(Duration.ofSeconds(8))
          .until(() -> !monitor.caughtUp());
      try (EmbeddedKafka kafka =
              EmbeddedKafka.start(EmbeddedKafkaConfig.defaults().withPort(port));
          PredictionLog log = PredictionLog.start(kafka.bootstrapServers(), 10_000)) {
        Random random = new Random(4);
        for (int i = 0; i < 500; i++) {
          log.publish(
              DriftWindowsTest.prediction(
                  DriftWindowsTest.inputs(random, 0), now - 10 * 60_000 + i * 1_000L));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> log.sent() == 500);
        await().atMost(Duration.ofSeconds(60)).until(() -> monitor.read() == 500);
        await().atMost(Duration.ofSeconds(30)).until(monitor::caughtUp);
      }
    }
  }

  @Test
  void liveQualityOfACanaryAndProdOnTheSameTrafficEqualsAnOfflineComputationOfTheSamePairs()
      throws Exception {
    ModelVersionSpec spec =
        ModelVersionSpec.newBuilder()
            .addOutputs(ModelOutput.newBuilder().setName("p_fraud"))
            .addOutputs(ModelOutput.newBuilder().setName("p_legit"))
            .setPositiveOutput("p_fraud")
            .putMetrics("auc", 0.9)
            .build();
    MonitorConfig config =
        MonitorConfig.defaults().withLabels(Duration.ofMinutes(10), Map.of("payments", "is_fraud"));
    Random random = new Random(3);
    long now = System.currentTimeMillis();
    // Truth per (version, id): score and label, for the requests that get a label in time.
    Map<Long, List<double[]>> expected = new HashMap<>();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(
                kafka.clientProperties(), new ByteArraySerializer(), new ByteArraySerializer())) {
      try (PredictionLog log = PredictionLog.start(kafka.bootstrapServers(), 10_000)) {
        for (int i = 0; i < 1_500; i++) {
          boolean fraud = random.nextDouble() < 0.3;
          long at = now - 40 * 60_000 + i * 1_000L;
          String id = "r" + i;
          for (long version : new long[] {1, 2}) {
            // v2 separates the classes better than v1; both see the same requests.
            double score =
                Math.min(
                    1,
                    Math.max(
                        0,
                        (fraud ? 0.55 : 0.4)
                            + (version == 1 ? 0.25 : 0.15) * random.nextGaussian()));
            log.publish(
                Prediction.newBuilder()
                    .setRequestId(id)
                    .setModelName("fraud")
                    .setModelVersion(version)
                    .setPredictedAtMs(at)
                    .addScores(Score.newBuilder().setName("p_fraud").setValue(score))
                    .addScores(Score.newBuilder().setName("p_legit").setValue(1 - score))
                    .build());
            if (i % 5 != 0) {
              expected
                  .computeIfAbsent(version, v -> new ArrayList<>())
                  .add(new double[] {score, fraud ? 1 : 0});
            }
          }
          if (i % 5 == 0) {
            continue; // never labelled
          }
          long labelAt = at + random.nextInt(5 * 60_000);
          byte[] label =
              i % 2 == 0
                  ? Label.newBuilder()
                      .setId(id)
                      .setValue(fraud ? 1 : 0)
                      .setObservedAtMs(labelAt)
                      .build()
                      .toByteArray()
                  : ("{\"id\": \""
                          + id
                          + "\", \"value\": "
                          + (fraud ? 1 : 0)
                          + ", \"observedAtMs\": \""
                          + labelAt
                          + "\"}")
                      .getBytes(java.nio.charset.StandardCharsets.UTF_8);
          producer.send(new ProducerRecord<>("labels.payments", label));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> log.sent() == 3_000);
      }
      producer
          .send(
              new ProducerRecord<>("labels.payments", "{\"id\": \"r1\", \"value\": 7}".getBytes()))
          .get();
      producer.send(new ProducerRecord<>("labels.payments", new byte[] {1, 2, 3})).get();

      try (PredictionMonitor monitor =
          PredictionMonitor.start(
              kafka.bootstrapServers(), (m, v) -> Optional.of(spec), config, Clock.systemUTC())) {
        await().atMost(Duration.ofSeconds(30)).until(monitor::caughtUp);
        assertThat(monitor.labelCounts()).isEqualTo(new LabelReader.Counts(1_200, 2));
        for (long version : new long[] {1, 2}) {
          List<double[]> truth = expected.get(version);
          List<double[]> joined = monitor.joinedPairs("fraud", version, "1h", now);
          assertThat(joined).hasSize(truth.size());
          double[] s = new double[truth.size()];
          boolean[] y = new boolean[truth.size()];
          for (int i = 0; i < s.length; i++) {
            s[i] = truth.get(i)[0];
            y[i] = truth.get(i)[1] == 1;
          }
          double[] offline = QualityTest.offline(s, y, s.length);
          Quality live =
              monitor.quality("fraud", now).stream()
                  .filter(q -> q.version() == version && q.window().equals("1h"))
                  .findFirst()
                  .orElseThrow()
                  .quality();
          assertThat(live.labelled()).isEqualTo(truth.size());
          assertThat(live.auc()).isCloseTo(offline[0], within(1e-9));
          assertThat(live.logLoss()).isCloseTo(offline[1], within(1e-9));
          assertThat(live.calibrationError()).isCloseTo(offline[2], within(1e-9));
        }
        assertThat(
                monitor.quality("fraud", now).stream()
                    .filter(q -> q.window().equals("1h"))
                    .map(q -> q.quality().auc())
                    .toList())
            .as("v2 beats v1 on the same traffic")
            .satisfies(aucs -> assertThat(aucs.get(1)).isGreaterThan(aucs.get(0)));
      }
    }
  }
}
