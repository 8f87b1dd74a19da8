package dev.streamscore.etl.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamscore.etl.GoldenStream;
import dev.streamscore.etl.Replay;
import dev.streamscore.etl.SourcePosition;
import dev.streamscore.etl.TileKeys;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.RejectReason;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The golden stream through the real Flink job on a MiniCluster (parallelism 2, RocksDB state),
 * without Kafka: the rows and dead letters it emits equal the core's replay, whether it emits a row
 * per change or coalesces them.
 */
class FeatureJobTest {
  private static final long START = 1_764_000_000_000L;

  @ParameterizedTest(name = "emit interval {0} ms")
  @ValueSource(longs = {0, 200})
  void goldenStreamGivesTheReplaysFinalTilesAndRejections(long emitIntervalMs) throws Exception {
    List<Event> events = GoldenStream.generate(7, 20_000, 200, START, 6 * 3_600_000L);
    List<EventRecord> records = new ArrayList<>();
    for (int i = 0; i < events.size(); i++) {
      Event e = events.get(i);
      records.add(
          new EventRecord(
              "events.payments",
              0,
              i,
              START,
              e.getEntityId().getBytes(StandardCharsets.UTF_8),
              e.toByteArray()));
    }
    Replay replay = new Replay(GoldenStream.spec(), GoldenStream.SOURCE);
    for (int i = 0; i < events.size(); i++) {
      // Where the job reads each record: its rows must say so.
      replay.accept(events.get(i), new SourcePosition(0, i, START));
    }

    Configuration conf = new Configuration();
    conf.setString("state.backend.type", "rocksdb");
    conf.setString("taskmanager.memory.managed.size", "64m");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2, conf);
    DataStream<EventRecord> in = env.fromData(records).setParallelism(1);
    CloseableIterator<KafkaOut> out =
        FeatureJob.features(
                in,
                GoldenStream.specText(),
                "golden.yaml",
                GoldenStream.SOURCE,
                "events.dlq",
                emitIntervalMs)
            .collectAsync();
    // The collect sink's buffer is small: read while the job runs, then ask for its result.
    JobClient client = env.executeAsync("golden");

    Map<String, Map<String, FeatureRow>> finalRows = new HashMap<>();
    Map<RejectReason, Long> dlq = new EnumMap<>(RejectReason.class);
    try (out) {
      while (out.hasNext()) {
        KafkaOut o = out.next();
        if (o.topic.equals("events.dlq")) {
          DeadLetter d = DeadLetter.parseFrom(o.value);
          assertThat(d.getStage()).isEqualTo("etl-flink");
          assertThat(d.getSourceTopic()).isEqualTo("events.payments");
          assertThat(Event.parseFrom(d.getOriginalValue()))
              .isEqualTo(events.get((int) d.getSourceOffset()));
          dlq.merge(d.getReason(), 1L, Long::sum);
          continue;
        }
        FeatureRow row = FeatureRow.parseFrom(o.value);
        assertThat(o.topic).isEqualTo("features." + row.getView());
        assertThat(o.key).isEqualTo(TileKeys.key(row.getEntityId(), row.getTileStartMs()));
        finalRows
            .computeIfAbsent(row.getView(), v -> new HashMap<>())
            .merge(
                row.getEntityId() + "@" + row.getTileStartMs(),
                row,
                (a, b) -> a.getVersion() >= b.getVersion() ? a : b);
      }
    }

    JobExecutionResult result = client.getJobExecutionResult().get(2, TimeUnit.MINUTES);
    for (ViewSpec view : GoldenStream.spec().views().values()) {
      Map<String, FeatureRow> expected = GoldenStream.finalRows(replay, view.name());
      Map<String, FeatureRow> actual = new TreeMap<>();
      finalRows.get(view.name()).forEach((k, row) -> actual.put(k, GoldenStream.normalized(row)));
      assertThat(actual).as(view.name()).hasSameSizeAs(expected).isEqualTo(expected);
    }
    Map<RejectReason, Long> expectedDlq = new EnumMap<>(replay.rejected());
    Long duplicates = expectedDlq.remove(RejectReason.REJECT_REASON_DUPLICATE);
    assertThat(dlq).isEqualTo(expectedDlq);
    assertThat(result.<Long>getAccumulatorResult("rejected.DUPLICATE")).isEqualTo(duplicates);
    assertThat(result.<Long>getAccumulatorResult("events")).isEqualTo(events.size());
    for (String view : GoldenStream.spec().views().keySet()) {
      assertThat(result.<Long>getAccumulatorResult("late." + view))
          .as("LATE for " + view)
          .isEqualTo(replay.late(view));
    }
    if (emitIntervalMs == 0) {
      assertThat(result.<Long>getAccumulatorResult("rows"))
          .as("one row per accepted event and view")
          .isEqualTo(replayRows(replay));
    }
  }

  private static long replayRows(Replay replay) {
    return GoldenStream.spec().views().keySet().stream()
        .mapToLong(
            v ->
                replay.finalRows(v).values().stream()
                    .flatMap(t -> t.values().stream())
                    .mapToLong(FeatureRow::getVersion)
                    .sum())
        .sum();
  }
}
