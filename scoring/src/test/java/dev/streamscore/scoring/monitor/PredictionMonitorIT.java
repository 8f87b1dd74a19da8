package dev.streamscore.scoring.monitor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.ReferenceProfile;
import dev.streamscore.scoring.PredictionLog;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
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
    ProfileSource profiles =
        (model, version) -> version == 1 ? Optional.of(profile) : Optional.empty();
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
        assertThat(monitor.unprofiled()).containsExactlyEntriesOf(java.util.Map.of("m@2", 300L));
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
}
