package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.Replay;
import dev.streamscore.featurestore.FeatureStore;
import dev.streamscore.featurestore.FeatureTopics;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.v1.FeatureRow;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The crash drill: a standalone store node SIGKILLed while it materializes a million tile rows,
 * then restarted on the same data directory.
 */
class FeatureStoreCrashIT {
  private static final Pattern PROGRESS =
      Pattern.compile(".*materializer bootstrapping: (\\d+) of (\\d+) rows.*");
  private static final Pattern CAUGHT_UP =
      Pattern.compile(".*materializer caught up: (\\d+) rows read.*");
  private final Launcher launcher = new Launcher();

  @AfterEach
  void killLeftovers() {
    launcher.killAll();
  }

  private static Optional<long[]> last(List<String> lines, Pattern pattern) {
    long[] found = null;
    for (String line : lines) {
      Matcher m = pattern.matcher(line);
      if (m.matches()) {
        found =
            m.groupCount() == 2
                ? new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))}
                : new long[] {Long.parseLong(m.group(1))};
      }
    }
    return Optional.ofNullable(found);
  }

  @Test
  void afterASigkillMidBootstrapItHoldsExactlyTheGreatestVersionOfEveryTile(@TempDir Path data)
      throws Exception {
    FeatureSpec spec = FeatureSpec.shippedPayments();
    Replay replay = Replay.finalRowsOnly(spec, "payments");
    long t0 = 1_764_000_000_000L;
    int events = 500_000;
    long rows = 0;
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Admin admin = Admin.create(kafka.clientProperties())) {
      FeatureTopics.ensure(admin, spec, Duration.ofSeconds(30));
      Map<String, Object> props = new HashMap<>(kafka.clientProperties());
      props.put(ProducerConfig.LINGER_MS_CONFIG, 20);
      props.put(ProducerConfig.BATCH_SIZE_CONFIG, 262_144);
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
        // 5,000 users within 50 minutes: no tile ages out of the store's retention.
        for (int from = 0; from < events; from += 10_000) {
          List<FeatureRow> chunk =
              FeatureRows.payments(replay, from, from + 10_000, t0, 6, i -> "u" + (i % 5_000));
          FeatureRows.send(producer, chunk);
          rows += chunk.size();
        }
      }
      assertThat(rows).isEqualTo(1_000_000L);

      String[] args = {
        "feature-store",
        "--kafka",
        kafka.bootstrapServers(),
        "--port",
        "0",
        "--data-dir",
        data.toString()
      };
      Launcher.Running first = launcher.start(args);
      await()
          .atMost(Duration.ofMinutes(2))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> last(first.stderr(), PROGRESS).map(p -> p[0] > 0).orElse(false));
      first.process.destroyForcibly().waitFor();
      long[] atKill = last(first.stderr(), PROGRESS).orElseThrow();
      assertThat(atKill[1]).isEqualTo(rows);
      assertThat(first.stderr()).noneMatch(l -> CAUGHT_UP.matcher(l).matches());

      long applied;
      try (FeatureStore store = FeatureStore.open(data.resolve("feature-store"), spec)) {
        applied = store.offsets().values().stream().mapToLong(Long::longValue).sum();
      }
      assertThat(applied).as("killed mid-bootstrap").isBetween(1L, rows - 1);

      Launcher.Running second = launcher.start(args);
      await()
          .atMost(Duration.ofMinutes(3))
          .until(() -> last(second.stderr(), CAUGHT_UP).isPresent());
      assertThat(last(second.stderr(), CAUGHT_UP).orElseThrow()[0])
          .as("resumes from its own offsets: reads only what it had not applied")
          .isEqualTo(rows - applied);
      second.process.destroy();
      assertThat(second.awaitExit(Duration.ofSeconds(30))).isEqualTo(143);

      try (FeatureStore store = FeatureStore.open(data.resolve("feature-store"), spec)) {
        for (var view : spec.views().values()) {
          Map<String, TreeMap<Long, FeatureRow>> expected = replay.finalRows(view.name());
          long tiles = 0;
          for (var entity : expected.entrySet()) {
            List<FeatureRow> stored =
                store.tiles(view.name(), entity.getKey(), Long.MIN_VALUE, Long.MAX_VALUE);
            assertThat(stored)
                .as("%s tiles of %s", view.name(), entity.getKey())
                .containsExactlyElementsOf(entity.getValue().values());
            tiles += stored.size();
          }
          assertThat(tiles).isPositive();
        }
      }
    }
  }
}
