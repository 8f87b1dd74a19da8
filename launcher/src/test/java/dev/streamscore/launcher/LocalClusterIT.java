package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamscore.launcher.cluster.Drill;
import dev.streamscore.launcher.cluster.Layout;
import dev.streamscore.launcher.cluster.LocalCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The multi-process cluster ({@code streamscore cluster}, {@code deploy/local-cluster}) and its
 * fault drill, reduced to fit a few minutes: every member a separate OS process, each killed with
 * SIGKILL under load and started again, and the platform's ledgers read back.
 */
class LocalClusterIT {
  private LocalCluster cluster;

  @AfterEach
  void down() {
    if (cluster != null) {
      cluster.down();
    }
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void onFlinkEveryMemberKilledUnderLoadComesBackWithNothingLostOrDoubledAndNoPredictFailed(
      @TempDir Path dir) throws Exception {
    cluster = start(LocalCluster.Etl.FLINK, 19_500);
    // Reduced to fit CI: each restart takes 30-120 s on a saturated 2-core machine, and `cluster
    // drill` runs every fault.
    Drill.Report report = drill(dir, List.of("scoring-1", "flink-taskmanager", "kafka-2"));
    assertThat(report.faults())
        .extracting(Drill.FaultResult::member)
        .containsExactly("scoring-1", "flink-taskmanager", "kafka-2");
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
            line -> System.out.println("cluster: " + line));
    cluster = c;
    c.up();
    for (String member : c.members()) {
      assertThat(c.serves(member)).as(member).isTrue();
    }
    assertThat(c.etlRunning()).isTrue();
    return c;
  }

  private Drill.Report drill(Path dir, List<String> faults) throws Exception {
    RoleCommandsIT.registerAndPromote(
        "127.0.0.1:" + cluster.layout().registryPort(), dir, Drill.MODEL);
    Drill.Report report =
        new Drill(cluster, Clock.systemUTC(), line -> System.out.println("drill: " + line))
            .run(new Drill.Plan(100, 20, Duration.ofSeconds(10), faults, Duration.ofSeconds(5), 1));
    String lines = String.join("\n", report.lines());
    System.out.println(lines);
    assertThat(report.rawAcked()).as(lines).isGreaterThan(3_000);
    assertThat(report.predictSent()).as(lines).isGreaterThan(500);
    assertThat(report.predictFailed()).as(lines).isZero();
    assertThat(report.rawRecords()).as(lines).isEqualTo(report.rawAcked());
    assertThat(report.rawWithoutOutcome()).as(lines).isZero();
    assertThat(report.rawWithSeveralOutcomes()).as(lines).isZero();
    assertThat(report.events()).as(lines).isGreaterThan(0);
    assertThat(report.eventsWithoutPrediction()).as(lines).isZero();
    assertThat(report.eventsWithSeveralPredictions()).as(lines).isZero();
    assertThat(report.passed()).as(lines).isTrue();
    return report;
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
