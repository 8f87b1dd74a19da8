package dev.streamscore.launcher;

import static dev.streamscore.launcher.EtlHarness.DLQ;
import static dev.streamscore.launcher.EtlHarness.SPEC;
import static dev.streamscore.launcher.EtlHarness.START;
import static dev.streamscore.launcher.EtlHarness.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.GoldenStream;
import dev.streamscore.etl.Replay;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.RejectReason;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The golden stream through the deployed Spark job (its jar, local[2] in a child JVM, at-least-once
 * Kafka sink) against a real broker: the same final tiles, window values and rejections as the
 * core's replay, and so as Flink; and a job killed mid-stream and restarted ends where an
 * uninterrupted run does.
 */
class SparkEtlIT {
  private EtlHarness kafka;

  @BeforeEach
  void startBroker() {
    kafka = new EtlHarness();
  }

  @AfterEach
  void stopBroker() {
    kafka.close();
  }

  private EtlProcess startJob(Path dir, List<String> extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("--dlq-topic", DLQ));
    args.addAll(extra);
    return EtlProcess.startSpark(
        kafka.kafka.bootstrapServers(),
        dir.resolve("etl"),
        Optional.of(EtlHarness.specFile(dir)),
        args,
        TIMEOUT);
  }

  @Test
  void goldenStreamThroughTheSparkJobEqualsTheCoresReplayEvenWrittenTwice(@TempDir Path dir)
      throws Exception {
    List<Event> events = GoldenStream.generate(101, 40_000, 400, START, 8 * 3_600_000L);
    // Half the golden stream, hostile records between, then the rest: the job must go on.
    kafka.produce(events.subList(0, events.size() / 2));
    Map<RejectReason, Long> hostile = kafka.produceHostile();
    kafka.produce(events.subList(events.size() / 2, events.size()));
    Replay replay = new Replay(SPEC, GoldenStream.SOURCE);
    events.forEach(replay::accept);

    Map<String, Long> rowsOnce;
    try (EtlProcess job = startJob(dir, List.of("--bounded"))) {
      rowsOnce =
          kafka.assertGoldenRun(
              job.awaitDone(TIMEOUT), replay, events.size(), "etl-spark", hostile);
    }

    // The worst an at-least-once sink can do: write everything again (a run without the first
    // run's checkpoint). Every row is now there twice; a reader keeping each tile's greatest
    // version sees the same tiles.
    try (EtlProcess again = startJob(dir.resolve("again"), List.of("--bounded"))) {
      again.awaitDone(TIMEOUT);
    }
    for (ViewSpec view : SPEC.views().values()) {
      EtlHarness.Committed twice = kafka.committed(view);
      long once = rowsOnce.get(view.name());
      assertThat(twice.rows()).as("rows written again").isGreaterThan(once + once / 2);
      assertThat(twice.finalRows()).isEqualTo(EtlHarness.finalRows(replay, view));
    }
  }

  @Test
  void aJobKilledMidStreamAndRestartedEndsWithTheTilesOfAnUninterruptedRun(@TempDir Path dir)
      throws Exception {
    ViewSpec txn = SPEC.views().get("user_txn");
    List<Event> events = GoldenStream.generate(202, 150_000, 2_000, START, 12 * 3_600_000L);
    kafka.produce(events);
    Replay replay = Replay.finalRowsOnly(SPEC, GoldenStream.SOURCE);
    events.forEach(replay::accept);
    Map<String, FeatureRow> core = EtlHarness.finalRows(replay, txn);

    // Small micro-batches, so the kill lands between and inside them, well before the end.
    List<String> small = List.of("--max-offsets-per-trigger", "10000");
    EtlProcess first = startJob(dir, small);
    try {
      await()
          .atMost(TIMEOUT)
          .pollInterval(Duration.ofMillis(200))
          .until(() -> kafka.committedRows(txn) >= core.size() / 5);
      first.kill();
    } finally {
      first.close();
    }
    Map<String, FeatureRow> atKill = kafka.committed(txn).finalRows();
    assertThat(atKill).as("killed mid-stream").isNotEqualTo(core);

    // Restarted from its checkpoint, bounded: it takes what is left, then stops.
    try (EtlProcess second = startJob(dir, List.of("--bounded"))) {
      second.awaitDone(TIMEOUT);
    }

    // At-least-once: rows of the batch in flight at the kill may be written twice. Readers keep
    // each tile's greatest version, so the tiles equal an uninterrupted run's all the same.
    EtlHarness.Committed after = kafka.committed(txn);
    assertThat(after.finalRows()).hasSameSizeAs(core).isEqualTo(core);
    Map<RejectReason, Long> expected = new EnumMap<>(replay.rejected());
    expected.remove(RejectReason.REJECT_REASON_DUPLICATE);
    assertThat(kafka.deadLetters("etl-spark")).isEqualTo(expected);
  }
}
