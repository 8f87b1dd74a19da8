package dev.streamscore.etl.spark;

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
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.Trigger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The golden stream through the real Spark job on local[2], in several micro-batches so that every
 * entity's state goes through the state store between them, without Kafka (files feed the stream):
 * the rows and dead letters it emits equal the core's replay.
 */
class SparkFeatureJobTest {
  private static final long START = 1_764_000_000_000L;
  private static SparkSession spark;

  @TempDir Path dir;

  @BeforeAll
  static void start() {
    spark = SparkJobs.localSession("golden", 2);
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  @Test
  void goldenStreamInMicroBatchesGivesTheReplaysFinalTilesAndRejections() throws Exception {
    List<Event> events = GoldenStream.generate(7, 20_000, 200, START, 6 * 3_600_000L);
    Replay replay = new Replay(GoldenStream.spec(), GoldenStream.SOURCE);
    for (int i = 0; i < events.size(); i++) {
      // Where the job reads each record: its rows must say so.
      replay.accept(events.get(i), new SourcePosition(0, i, START));
    }
    Path in = dir.resolve("in");
    int batches = 4;
    int per = events.size() / batches;
    for (int b = 0; b < batches; b++) {
      List<EventRow> chunk = new ArrayList<>();
      for (int i = b * per; i < (b == batches - 1 ? events.size() : (b + 1) * per); i++) {
        Event e = events.get(i);
        chunk.add(
            new EventRow(
                "events.payments",
                0,
                i,
                START,
                e.getEntityId().getBytes(StandardCharsets.UTF_8),
                e.toByteArray()));
      }
      Path part = dir.resolve("part-" + b);
      spark
          .createDataset(chunk, Encoders.bean(EventRow.class))
          .coalesce(1)
          .write()
          .mode(SaveMode.Overwrite)
          .parquet(part.toString());
      // The file source takes the oldest file first: give the chunks their order explicitly.
      Files.createDirectories(in);
      try (var files = Files.list(part)) {
        for (Path f : files.filter(p -> p.toString().endsWith(".parquet")).toList()) {
          Path moved = Files.move(f, in.resolve("chunk-" + b + ".parquet"));
          Files.setLastModifiedTime(moved, FileTime.fromMillis(START + b * 60_000L));
        }
      }
    }
    Map<String, Integer> partitions = new HashMap<>();
    for (ViewSpec view : GoldenStream.spec().views().values()) {
      partitions.put(view.topic(), 4);
    }
    partitions.put("events.dlq", 4);
    EtlGroupFunction.Counters counters =
        new EtlGroupFunction.Counters(spark.sparkContext(), GoldenStream.spec().views().keySet());

    Dataset<EventRow> stream =
        spark
            .readStream()
            .schema(Encoders.bean(EventRow.class).schema())
            .option("maxFilesPerTrigger", 1)
            .parquet(in.toString())
            .as(Encoders.bean(EventRow.class));
    StreamingQuery query =
        SparkFeatureJob.features(
                stream,
                GoldenStream.specText(),
                "golden.yaml",
                GoldenStream.SOURCE,
                "events.dlq",
                partitions,
                counters)
            .writeStream()
            .format("memory")
            .queryName("golden")
            .outputMode("append")
            .option("checkpointLocation", dir.resolve("checkpoint").toString())
            .trigger(Trigger.AvailableNow())
            .start();
    query.awaitTermination();
    assertThat(query.recentProgress()).as("micro-batches").hasSizeGreaterThanOrEqualTo(batches);

    Map<String, Map<String, FeatureRow>> finalRows = new HashMap<>();
    Map<RejectReason, Long> dlq = new EnumMap<>(RejectReason.class);
    for (OutRow o :
        spark.sql("SELECT * FROM golden").as(Encoders.bean(OutRow.class)).collectAsList()) {
      if (o.getTopic().equals("events.dlq")) {
        DeadLetter d = DeadLetter.parseFrom(o.getValue());
        assertThat(d.getStage()).isEqualTo("etl-spark");
        assertThat(Event.parseFrom(d.getOriginalValue()))
            .isEqualTo(events.get((int) d.getSourceOffset()));
        dlq.merge(d.getReason(), 1L, Long::sum);
        continue;
      }
      FeatureRow row = FeatureRow.parseFrom(o.getValue());
      assertThat(o.getTopic()).isEqualTo("features." + row.getView());
      assertThat(o.getKey()).isEqualTo(TileKeys.key(row.getEntityId(), row.getTileStartMs()));
      assertThat(o.getPartition()).isEqualTo(TileKeys.partition(row.getEntityId(), 4));
      finalRows
          .computeIfAbsent(row.getView(), v -> new HashMap<>())
          .merge(
              row.getEntityId() + "@" + row.getTileStartMs(),
              row,
              (a, b) -> a.getVersion() >= b.getVersion() ? a : b);
    }
    for (ViewSpec view : GoldenStream.spec().views().values()) {
      Map<String, FeatureRow> expected = GoldenStream.finalRows(replay, view.name());
      Map<String, FeatureRow> actual = new TreeMap<>();
      finalRows.get(view.name()).forEach((k, row) -> actual.put(k, GoldenStream.normalized(row)));
      assertThat(actual).as(view.name()).hasSameSizeAs(expected).isEqualTo(expected);
    }
    Map<RejectReason, Long> expectedDlq = new EnumMap<>(replay.rejected());
    expectedDlq.remove(RejectReason.REJECT_REASON_DUPLICATE);
    assertThat(dlq).isEqualTo(expectedDlq);
    assertThat(counters.rejectedCounts()).isEqualTo(replay.rejected());
    assertThat(counters.events.value()).isEqualTo(events.size());
    for (String view : GoldenStream.spec().views().keySet()) {
      assertThat(counters.snapshot()).containsEntry("late." + view, replay.late(view));
    }
  }
}
