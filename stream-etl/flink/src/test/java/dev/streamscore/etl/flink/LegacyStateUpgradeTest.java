package dev.streamscore.etl.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.FeatureProcessor;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.GoldenStream;
import dev.streamscore.etl.RecordProcessor;
import dev.streamscore.etl.Replay;
import dev.streamscore.etl.SourcePosition;
import dev.streamscore.etl.TileUpdate;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.RejectReason;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A savepoint of a job that kept each entity in several keyed-state entries (greatest event time,
 * seen ids, a tile map per view) restores into today's job, which keeps one value per entity: the
 * second half of the golden stream then gives the rows and rejections of the replay of the whole.
 */
class LegacyStateUpgradeTest {
  private static final long START = 1_764_000_000_000L;
  private static final List<Event> EVENTS =
      GoldenStream.generate(11, 12_000, 150, START, 4 * 3_600_000L);
  private static final int HALF = EVENTS.size() / 2;

  /**
   * The first half's events in the order the earlier job processed them (it runs in this JVM, on a
   * MiniCluster): its source interleaves its splits, and each entity's order is what the replay
   * must follow.
   */
  private static final Queue<Integer> ORDER = new ConcurrentLinkedQueue<>();

  @TempDir Path dir;

  @Test
  void aSavepointOfTheEarlierStateLayoutContinuesWithEveryEntitysState() throws Exception {
    String savepoint = earlierJobsSavepoint();

    Replay firstHalf = new Replay(GoldenStream.spec(), GoldenStream.SOURCE);
    Replay whole = new Replay(GoldenStream.spec(), GoldenStream.SOURCE);
    for (int i : ORDER) {
      SourcePosition position = new SourcePosition(0, i, START);
      firstHalf.accept(EVENTS.get(i), position);
      whole.accept(EVENTS.get(i), position);
    }
    for (int i = HALF; i < EVENTS.size(); i++) {
      whole.accept(EVENTS.get(i), new SourcePosition(0, i, START));
    }

    // The second half through today's job, restored from the earlier job's savepoint.
    List<EventRecord> records = new ArrayList<>();
    for (int i = HALF; i < EVENTS.size(); i++) {
      records.add(record(i));
    }
    Configuration conf = new Configuration();
    conf.setString("state.backend.type", "rocksdb");
    conf.setString("taskmanager.memory.managed.size", "64m");
    conf.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
    // The earlier job's source is not in this one.
    conf.set(StateRecoveryOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE, true);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2, conf);
    Map<String, Map<String, FeatureRow>> emitted = new HashMap<>();
    Map<RejectReason, Long> dlq = new EnumMap<>(RejectReason.class);
    CloseableIterator<KafkaOut> out =
        FeatureJob.features(
                env.fromData(records).uid("second-half").setParallelism(1),
                GoldenStream.specText(),
                "golden.yaml",
                GoldenStream.SOURCE,
                "events.dlq",
                200)
            .collectAsync();
    JobClient client = env.executeAsync("after the upgrade");
    try (out) {
      while (out.hasNext()) {
        KafkaOut o = out.next();
        if (o.topic.equals("events.dlq")) {
          dlq.merge(DeadLetter.parseFrom(o.value).getReason(), 1L, Long::sum);
          continue;
        }
        FeatureRow row = FeatureRow.parseFrom(o.value);
        emitted
            .computeIfAbsent(row.getView(), v -> new TreeMap<>())
            .merge(
                row.getEntityId() + "@" + row.getTileStartMs(),
                GoldenStream.normalized(row),
                (a, b) -> a.getVersion() >= b.getVersion() ? a : b);
      }
    }
    JobExecutionResult result = client.getJobExecutionResult().get(2, TimeUnit.MINUTES);
    assertThat(result.<Long>getAccumulatorResult("entities.moved")).isPositive();

    int carried = 0;
    for (ViewSpec view : GoldenStream.spec().views().values()) {
      Map<String, FeatureRow> expected = GoldenStream.finalRows(whole, view.name());
      Map<String, FeatureRow> before = GoldenStream.finalRows(firstHalf, view.name());
      Map<String, FeatureRow> rows = emitted.get(view.name());
      assertThat(rows).as(view.name()).isNotEmpty();
      for (Map.Entry<String, FeatureRow> row : rows.entrySet()) {
        assertThat(row.getValue())
            .as(view.name() + " " + row.getKey())
            .isEqualTo(expected.get(row.getKey()));
        if (before.containsKey(row.getKey())) {
          carried++; // a tile the first half began, finished from the restored state
        }
      }
    }
    assertThat(carried).as("tiles continued from the savepoint").isGreaterThan(0);

    // Rejections: the second half's share, its duplicates of first-half ids among them (the seen
    // ids came through the savepoint).
    Map<RejectReason, Long> expected = new EnumMap<>(RejectReason.class);
    whole
        .rejected()
        .forEach(
            (reason, n) -> expected.put(reason, n - firstHalf.rejected().getOrDefault(reason, 0L)));
    expected.values().removeIf(n -> n == 0);
    Long duplicates = expected.remove(RejectReason.REJECT_REASON_DUPLICATE);
    assertThat(duplicates).isPositive();
    assertThat(result.<Long>getAccumulatorResult("rejected.DUPLICATE")).isEqualTo(duplicates);
    assertThat(dlq).isEqualTo(expected);
  }

  /**
   * Runs the earlier job's keyed function over the first half (a source that stays open after it)
   * and stops it with a savepoint.
   */
  private String earlierJobsSavepoint() throws Exception {
    ORDER.clear();
    Configuration conf = new Configuration();
    conf.setString("state.backend.type", "rocksdb");
    conf.setString("taskmanager.memory.managed.size", "64m");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2, conf);
    // The first half, then nothing for the rest of the bounded count: the job stays running.
    DataGeneratorSource<EventRecord> source =
        new DataGeneratorSource<>(
            (GeneratorFunction<Long, EventRecord>)
                i -> i < HALF ? record(i.intValue()) : new EventRecord(),
            HALF + 600_000L,
            RateLimiterStrategy.perSecond(20_000),
            TypeInformation.of(EventRecord.class));
    env.fromSource(source, WatermarkStrategy.noWatermarks(), "first half")
        .uid("first-half")
        .setParallelism(1)
        .filter(r -> r.value != null)
        .keyBy(new EntityKey())
        .transform(
            "features: earlier",
            TypeInformation.of(KafkaOut.class),
            new KeyedProcessOperator<>(new EarlierLayout(GoldenStream.specText())))
        .uid("features-" + GoldenStream.SOURCE)
        .sinkTo(new DiscardingSink<>());
    JobClient job = env.executeAsync("earlier layout");
    await().atMost(Duration.ofMinutes(2)).until(() -> ORDER.size() >= HALF);
    return job.stopWithSavepoint(
            false, dir.resolve("savepoints").toUri().toString(), SavepointFormatType.CANONICAL)
        .get(2, TimeUnit.MINUTES);
  }

  private static EventRecord record(int i) {
    Event e = EVENTS.get(i);
    return new EventRecord(
        "events.payments",
        0,
        i,
        START,
        e.getEntityId().getBytes(StandardCharsets.UTF_8),
        e.toByteArray());
  }

  /** The keyed function as jobs before one state value per entity ran it. */
  private static final class EarlierLayout
      extends KeyedProcessFunction<String, EventRecord, KafkaOut> {
    private static final long serialVersionUID = 1L;
    private final String specYaml;
    private transient RecordProcessor records;
    private transient FlinkEntityState state;

    EarlierLayout(String specYaml) {
      this.specYaml = specYaml;
    }

    @Override
    public void open(OpenContext context) {
      FeatureSpec spec = FeatureSpec.parse(specYaml, "golden.yaml");
      FeatureProcessor processor = FeatureProcessor.of(spec, GoldenStream.SOURCE, "flink");
      records = new RecordProcessor(processor, GoldenStream.SOURCE, EtlFunction.STAGE);
      state = FlinkEntityState.registered(getRuntimeContext(), processor.views());
    }

    @Override
    public void processElement(EventRecord r, Context ctx, Collector<KafkaOut> out) {
      records.process(
          state,
          r.entityId,
          new RecordProcessor.Record(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value),
          0,
          new RecordProcessor.Sink() {
            @Override
            public void row(TileUpdate update) {}

            @Override
            public void rejected(RejectReason reason, String view) {}

            @Override
            public void deadLetter(byte[] key, byte[] deadLetter) {}
          });
      ORDER.add((int) r.offset);
    }
  }
}
