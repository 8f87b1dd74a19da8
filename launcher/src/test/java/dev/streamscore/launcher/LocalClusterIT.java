package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.Replay;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.ingest.generator.GeneratedEvent;
import dev.streamscore.ingest.generator.GeneratorConfig;
import dev.streamscore.ingest.generator.PaymentsGenerator;
import dev.streamscore.launcher.cluster.Drill;
import dev.streamscore.launcher.cluster.DrillReport;
import dev.streamscore.launcher.cluster.Layout;
import dev.streamscore.launcher.cluster.LocalCluster;
import dev.streamscore.launcher.cluster.TilesVsReplay;
import dev.streamscore.proto.v1.FeatureRow;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The multi-process cluster ({@code streamscore cluster}, {@code deploy/local-cluster}): a
 * savepoint upgrade of the Flink job to a spec with one more view, then the fault drill reduced to
 * fit a few minutes — every member a separate OS process, each killed with SIGKILL under load and
 * started again — and the platform's ledgers and feature tiles read back.
 */
class LocalClusterIT {
  private static final long LOADED = System.nanoTime();
  private LocalCluster cluster;

  @AfterEach
  void down() {
    if (cluster != null) {
      cluster.down();
    }
  }

  @Test
  @Timeout(value = 14, unit = TimeUnit.MINUTES)
  void onFlinkAnUpgradeKeepsStateAndEveryMemberKilledUnderLoadComesBackWithTilesEqualToTheReplay(
      @TempDir Path dir) throws Exception {
    cluster = start(LocalCluster.Etl.FLINK, 19_500);
    RoleCommandsIT.registerAndPromote(
        "127.0.0.1:" + cluster.layout().registryPort(), dir, Drill.MODEL);
    String bootstrap = cluster.layout().bootstrap();
    Ledger.produceToKafka(bootstrap, 2_000, 3);

    // Upgraded through a savepoint to a spec with one more view, under no load.
    Path v2 = EtlProcess.home().resolve("deploy/payments-v2.yaml");
    cluster.upgrade(v2);
    long upgradedAt = System.currentTimeMillis();
    assertThat(cluster.etlRunning()).isTrue();
    // The added view's tiles are compared from the first one that starts after the upgrade: some
    // events dated in the next whole minute make sure there is one, however short the drill.
    produceDatedAfter((upgradedAt / 60_000 + 1) * 60_000, bootstrap, 200);

    // Reduced to fit CI: each restart takes 30-120 s on a saturated 2-core machine, and `cluster
    // drill` runs every fault. One host failure takes a scoring node and the TaskManager at once:
    // Predict fails over while the ETL job restarts from its checkpoint.
    DrillReport report = drill(List.of("scoring-1+flink-taskmanager"));
    assertThat(report.faults())
        .extracting(DrillReport.FaultResult::member)
        .containsExactly("scoring-1+flink-taskmanager");

    // The tiles equal the core's replay of every event: the old views' all of them, across the
    // upgrade and the faults; the added view's from the upgrade on (its tiles starting later
    // hold only events the upgraded job read).
    Map<String, Object> client = Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    FeatureSpec before = FeatureSpec.shippedPayments();
    FeatureSpec after = FeatureSpec.load(v2);
    Replay old = Replay.finalRowsOnly(before, "payments");
    Replay upgraded = Replay.finalRowsOnly(after, "payments");
    long events = TilesVsReplay.replay(client, "payments", List.of(old, upgraded));
    assertThat(events).isGreaterThan(2_000);
    await()
        .atMost(Duration.ofMinutes(3))
        .pollInterval(Duration.ofSeconds(5))
        .untilAsserted(
            () -> {
              for (String view : before.views().keySet()) {
                assertThat(
                        TilesVsReplay.difference(
                            TilesVsReplay.committed(client, view, t -> true),
                            TilesVsReplay.replayed(old, view, t -> true)))
                    .as(view)
                    .isEmpty();
              }
              LongPredicate afterUpgrade = t -> t >= upgradedAt;
              Map<String, FeatureRow> added =
                  TilesVsReplay.replayed(upgraded, "user_amount_5m", afterUpgrade);
              assertThat(added).isNotEmpty();
              assertThat(
                      TilesVsReplay.difference(
                          TilesVsReplay.committed(client, "user_amount_5m", afterUpgrade), added))
                  .as("user_amount_5m")
                  .isEmpty();
            });
  }

  /**
   * Payments into {@code raw.payments} dated from {@code fromMs} on (up to a minute ahead of now:
   * the spec accepts 15 minutes).
   */
  private static void produceDatedAfter(long fromMs, String bootstrap, int n) throws Exception {
    long ahead = Math.max(0, fromMs + 1_000 - System.currentTimeMillis());
    PaymentsGenerator generator =
        new PaymentsGenerator(
            GeneratorConfig.defaults(11).withRates(0, 0, 0),
            Clock.offset(Clock.systemUTC(), Duration.ofMillis(ahead)));
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrap,
                ProducerConfig.ACKS_CONFIG,
                "all"),
            new StringSerializer(),
            new ByteArraySerializer())) {
      for (int i = 0; i < n; i++) {
        GeneratedEvent event = generator.next();
        producer.send(new ProducerRecord<>(TopicNames.raw("payments"), event.key(), event.json()));
      }
      producer.flush();
    }
  }

  /** A fresh cluster under target/, where its logs stay for a post-mortem. */
  private LocalCluster start(LocalCluster.Etl etl, int basePort) throws Exception {
    Path dir = Path.of("target", "local-cluster-it", etl.name().toLowerCase());
    deleteRecursively(dir);
    LocalCluster c =
        new LocalCluster(
            new Layout(dir, basePort),
            etl,
            Optional.empty(),
            EtlProcess.home(),
            Clock.systemUTC(),
            line -> System.out.println(elapsed() + " cluster: " + line));
    cluster = c;
    c.up();
    for (String member : c.members()) {
      assertThat(c.serves(member)).as(member).isTrue();
    }
    assertThat(c.etlRunning()).isTrue();
    return c;
  }

  private DrillReport drill(List<String> faults) throws Exception {
    DrillReport report =
        new Drill(
                cluster,
                Clock.systemUTC(),
                line -> System.out.println(elapsed() + " drill: " + line))
            .run(
                // Tiles not compared: the test compares a superset of them itself. Predict may take
                // 30 s: on a 2-core CI machine running all 13 members, a restarted scoring node's
                // start (JIT, store bootstrap, stream-scoring state restored from its changelog)
                // and the survivor's takeover have stalled calls past 10 s (p50 5.5 s once); the
                // report's p50/p99 say how long they took.
                new Drill.Plan(
                    100,
                    20,
                    20,
                    Duration.ofSeconds(5),
                    faults,
                    Duration.ofSeconds(3),
                    1,
                    false,
                    Duration.ofSeconds(30)));
    String lines = String.join("\n", report.lines());
    System.out.println(lines);
    // The load ran for the warm-up, the restart and the pause after it: at least 15 s at these
    // rates, however fast the restart (one came back in 15.7 s, leaving 2,864 events in all).
    assertThat(report.rawAcked()).as(lines).isGreaterThan(1_500);
    assertThat(report.predictSent()).as(lines).isGreaterThan(300);
    assertThat(report.predictFailed()).as(lines).isZero();
    assertThat(report.ingest().answered()).as(lines).isGreaterThan(300);
    assertThat(report.ingest().failed()).as(lines).isZero();
    assertThat(report.rawRecords() - report.rawAcked())
        .as(lines)
        .isBetween(0L, report.ingestRetries());
    assertThat(report.rawWithoutOutcome()).as(lines).isZero();
    assertThat(report.rawWithSeveralOutcomes()).as(lines).isZero();
    assertThat(report.events()).as(lines).isGreaterThan(0);
    assertThat(report.eventsWithoutPrediction()).as(lines).isZero();
    assertThat(report.eventsWithSeveralPredictions()).as(lines).isZero();
    assertThat(report.passed()).as(lines).isTrue();
    return report;
  }

  /** Seconds since the test class loaded, so the log says where a slow run spent its time. */
  private static String elapsed() {
    return String.format("%6.1f s", (System.nanoTime() - LOADED) / 1e9);
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
