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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The golden stream through the deployed Flink job (its jar, a MiniCluster in a child JVM, RocksDB
 * state, exactly-once sink) against a real broker, compared with the core's offline replay.
 */
class FlinkEtlIT {
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
    List<String> args = new ArrayList<>(List.of("--dlq-topic", DLQ, "--parallelism", "2"));
    args.addAll(extra);
    return EtlProcess.startFlink(
        kafka.kafka.bootstrapServers(),
        dir.resolve("etl"),
        Optional.of(EtlHarness.specFile(dir)),
        args,
        TIMEOUT);
  }

  @Test
  void goldenStreamThroughTheFlinkJobEqualsTheCoresReplay(@TempDir Path dir) throws Exception {
    List<Event> events = GoldenStream.generate(101, 40_000, 400, START, 8 * 3_600_000L);
    // Half the golden stream, hostile records between, then the rest: the job must go on.
    kafka.produce(events.subList(0, events.size() / 2));
    Map<RejectReason, Long> hostile = kafka.produceHostile();
    kafka.produce(events.subList(events.size() / 2, events.size()));
    Replay replay = new Replay(SPEC, GoldenStream.SOURCE);
    events.forEach(replay::accept);

    try (EtlProcess job = startJob(dir, List.of("--bounded"))) {
      kafka.assertGoldenRun(job.awaitDone(TIMEOUT), replay, events.size(), "etl-flink", hostile);
    }
  }

  @Test
  void aJobKilledMidStreamAndRestartedLeavesExactlyTheRowsOfAnUninterruptedRun(@TempDir Path dir)
      throws Exception {
    ViewSpec txn = SPEC.views().get("user_txn");
    List<Event> events = GoldenStream.generate(202, 150_000, 2_000, START, 12 * 3_600_000L);
    kafka.produce(events);
    Replay replay = Replay.finalRowsOnly(SPEC, GoldenStream.SOURCE);
    AtomicLong emitted = new AtomicLong();
    events.forEach(
        e ->
            emitted.addAndGet(
                replay.accept(e).rows().stream()
                    .filter(r -> r.getView().equals("user_txn"))
                    .count()));

    EtlProcess first =
        startJob(
            dir,
            List.of(
                "--group-id",
                "restart-drill",
                "--checkpoint-interval-ms",
                "500",
                // One row per change, so the topic must hold exactly the rows of the replay.
                "--emit-interval-ms",
                "0"));
    try {
      // Kill it once some of its output is committed, well before the end.
      await()
          .atMost(TIMEOUT)
          .pollInterval(Duration.ofMillis(200))
          .until(() -> committedOffsets(txn) >= emitted.get() / 5);
      first.kill();
    } finally {
      first.close();
    }
    long atKill = kafka.committedRows(txn);
    assertThat(atKill).as("killed mid-stream").isBetween(1L, emitted.get() - 1);

    // A restored source keeps its splits' (unbounded) end, so the second run cannot be --bounded:
    // wait until all rows are committed, stop it, then check nothing more arrived.
    try (EtlProcess second =
        startJob(dir, List.of("--group-id", "restart-drill", "--emit-interval-ms", "0"))) {
      await()
          .atMost(TIMEOUT)
          .pollInterval(Duration.ofSeconds(2))
          .until(() -> kafka.committedRows(txn) >= emitted.get());
    }

    // Exactly once: the topic holds each row of one uninterrupted run, once.
    EtlHarness.Committed after = kafka.committed(txn);
    assertThat(after.rows()).isEqualTo(emitted.get());
    Map<String, FeatureRow> core = EtlHarness.finalRows(replay, txn);
    Map<String, FeatureRow> flink = after.finalRows();
    assertThat(flink).hasSameSizeAs(core).isEqualTo(core);
    Map<RejectReason, Long> expected = new EnumMap<>(replay.rejected());
    expected.remove(RejectReason.REJECT_REASON_DUPLICATE);
    assertThat(kafka.deadLetters("etl-flink")).isEqualTo(expected);
  }

  /**
   * The sum of the partitions' last stable offsets: cheap progress, counting commit markers too.
   */
  private long committedOffsets(ViewSpec view) throws Exception {
    try (Admin admin = Admin.create(kafka.kafka.clientProperties())) {
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      for (int p = 0; p < 4; p++) {
        latest.put(new TopicPartition(view.topic(), p), OffsetSpec.latest());
      }
      return admin
          .listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
          .all()
          .get()
          .values()
          .stream()
          .mapToLong(ListOffsetsResult.ListOffsetsResultInfo::offset)
          .sum();
    }
  }
}
