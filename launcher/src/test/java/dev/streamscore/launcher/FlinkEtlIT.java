package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.FeatureDef;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.GoldenStream;
import dev.streamscore.etl.Replay;
import dev.streamscore.etl.TileKeys;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.etl.Windows;
import dev.streamscore.kafka.TopicReader;
import dev.streamscore.kafka.Topics;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.RejectReason;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The golden stream through the deployed Flink job (its jar, a MiniCluster in a child JVM, RocksDB
 * state, exactly-once sink) against a real broker, compared with the core's offline replay.
 */
class FlinkEtlIT {
  private static final long START = 1_764_000_000_000L;
  private static final FeatureSpec SPEC = GoldenStream.spec();
  private static final Duration TIMEOUT = Duration.ofMinutes(3);
  private EmbeddedKafka kafka;

  @BeforeEach
  void startBroker() {
    kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
  }

  @AfterEach
  void stopBroker() {
    if (kafka != null) {
      kafka.close();
    }
  }

  private void createTopics(String dlq) {
    List<NewTopic> topics = new ArrayList<>();
    topics.add(new NewTopic("events." + GoldenStream.SOURCE, 4, (short) 1));
    topics.add(new NewTopic(dlq, 2, (short) 1));
    for (ViewSpec view : SPEC.views().values()) {
      topics.add(new NewTopic(view.topic(), 4, (short) 1));
    }
    try (Admin admin = Admin.create(kafka.clientProperties())) {
      Topics.using(admin).ensure(topics, Duration.ofSeconds(60));
    }
  }

  private void produce(List<Event> events) {
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 10);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (Event e : events) {
        producer.send(
            new ProducerRecord<>(
                "events." + GoldenStream.SOURCE,
                e.getEntityId().getBytes(StandardCharsets.UTF_8),
                e.toByteArray()));
      }
      producer.flush();
    }
  }

  private static Path specFile(Path dir) throws Exception {
    Path file = dir.resolve("golden.yaml");
    Files.writeString(file, GoldenStream.specText());
    return file;
  }

  private EtlProcess startJob(Path dir, String dlq, List<String> extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("--dlq-topic", dlq, "--parallelism", "2"));
    args.addAll(extra);
    return EtlProcess.startFlink(
        kafka.bootstrapServers(), dir.resolve("etl"), Optional.of(specFile(dir)), args, TIMEOUT);
  }

  /** What a view's topic holds: how many committed rows, and the greatest version of each tile. */
  private record Committed(long rows, Map<String, FeatureRow> finalRows) {}

  /**
   * Reads a view's committed rows, checking each one's key and partition, and keeps only the
   * greatest version of each tile (normalized): the topic may hold far more rows than fit in a
   * test's heap.
   */
  private Committed committed(ViewSpec view) {
    Map<String, FeatureRow> tiles = new TreeMap<>();
    long count =
        TopicReader.readAll(
            kafka.clientProperties(),
            view.topic(),
            TIMEOUT,
            record -> {
              try {
                FeatureRow row = FeatureRow.parseFrom(record.value());
                assertThat(record.key())
                    .isEqualTo(TileKeys.key(row.getEntityId(), row.getTileStartMs()));
                assertThat(record.partition()).isEqualTo(TileKeys.partition(row.getEntityId(), 4));
                tiles.merge(
                    row.getEntityId() + "@" + row.getTileStartMs(),
                    normalized(row),
                    (a, b) -> a.getVersion() >= b.getVersion() ? a : b);
              } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                throw new AssertionError(e);
              }
            });
    return new Committed(count, tiles);
  }

  private static Map<String, FeatureRow> finalRows(Replay replay, ViewSpec view) {
    Map<String, FeatureRow> tiles = new TreeMap<>();
    replay
        .finalRows(view.name())
        .forEach(
            (e, byStart) -> byStart.forEach((s, row) -> tiles.put(e + "@" + s, normalized(row))));
    return tiles;
  }

  private static FeatureRow normalized(FeatureRow row) {
    return row.toBuilder().clearUpdatedAtMs().clearProducer().build();
  }

  private Map<RejectReason, Long> deadLetters(String dlq) {
    Map<RejectReason, Long> counts = new EnumMap<>(RejectReason.class);
    TopicReader.readAll(
        kafka.clientProperties(),
        dlq,
        TIMEOUT,
        record -> {
          try {
            DeadLetter d = DeadLetter.parseFrom(record.value());
            assertThat(d.getStage()).isEqualTo("etl-flink");
            counts.merge(d.getReason(), 1L, Long::sum);
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
          }
        });
    return counts;
  }

  private static Map<String, Long> counts(String doneLine) {
    return java.util.Arrays.stream(doneLine.split(" "))
        .map(kv -> kv.split("="))
        .collect(Collectors.toMap(kv -> kv[0], kv -> Long.parseLong(kv[1])));
  }

  @Test
  void goldenStreamThroughTheFlinkJobEqualsTheCoresReplay(@TempDir Path dir) throws Exception {
    String dlq = "events.dlq";
    createTopics(dlq);
    List<Event> events = GoldenStream.generate(101, 40_000, 400, START, 8 * 3_600_000L);
    produce(events);
    Replay replay = new Replay(SPEC, GoldenStream.SOURCE);
    events.forEach(replay::accept);

    Map<String, Long> counts;
    try (EtlProcess job = startJob(dir, dlq, List.of("--bounded"))) {
      counts = counts(job.awaitDone(TIMEOUT));
    }

    assertThat(counts.get("events")).isEqualTo(events.size());
    Map<RejectReason, Long> expected = new EnumMap<>(replay.rejected());
    long duplicates = expected.remove(RejectReason.REJECT_REASON_DUPLICATE);
    assertThat(counts.get("rejected.DUPLICATE")).isEqualTo(duplicates);
    assertThat(deadLetters(dlq)).isEqualTo(expected);
    SplittableRandom random = new SplittableRandom(5);
    for (ViewSpec view : SPEC.views().values()) {
      Map<String, FeatureRow> flink = committed(view).finalRows();
      Map<String, FeatureRow> core = finalRows(replay, view);
      assertThat(flink).as(view.name()).hasSameSizeAs(core).isEqualTo(core);

      // Window values at tile boundaries, read from Flink's tiles, equal the exact point-in-time
      // values of the replay.
      Map<String, List<FeatureRow>> byEntity =
          flink.values().stream().collect(Collectors.groupingBy(FeatureRow::getEntityId));
      int compared = 0;
      for (int q = 0; q < 300; q++) {
        String entity = "u" + random.nextInt(400);
        long t = view.tileStart(START + random.nextLong(9 * 3_600_000L));
        for (FeatureDef f : view.features().values()) {
          assertThat(Windows.value(view, f, byEntity.getOrDefault(entity, List.of()), t))
              .as("%s:%s of %s at %d", view.name(), f.name(), entity, t)
              .isEqualTo(replay.valueAt(view.name(), f.name(), entity, t));
          compared++;
        }
      }
      assertThat(compared).isGreaterThan(1_000);
    }
  }

  @Test
  void aJobKilledMidStreamAndRestartedLeavesExactlyTheRowsOfAnUninterruptedRun(@TempDir Path dir)
      throws Exception {
    String dlq = "events.dlq";
    createTopics(dlq);
    ViewSpec txn = SPEC.views().get("user_txn");
    List<Event> events = GoldenStream.generate(202, 150_000, 2_000, START, 12 * 3_600_000L);
    produce(events);
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
            dlq,
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
    long atKill = committedRows(txn);
    assertThat(atKill).as("killed mid-stream").isBetween(1L, emitted.get() - 1);

    // A restored source keeps its splits' (unbounded) end, so the second run cannot be --bounded:
    // wait until all rows are committed, stop it, then check nothing more arrived.
    try (EtlProcess second =
        startJob(dir, dlq, List.of("--group-id", "restart-drill", "--emit-interval-ms", "0"))) {
      await()
          .atMost(TIMEOUT)
          .pollInterval(Duration.ofSeconds(2))
          .until(() -> committedRows(txn) >= emitted.get());
    }

    // Exactly once: the topic holds each row of one uninterrupted run, once.
    Committed after = committed(txn);
    assertThat(after.rows()).isEqualTo(emitted.get());
    Map<String, FeatureRow> core = finalRows(replay, txn);
    Map<String, FeatureRow> flink = after.finalRows();
    assertThat(flink).hasSameSizeAs(core).isEqualTo(core);
    Map<RejectReason, Long> expected = new EnumMap<>(replay.rejected());
    expected.remove(RejectReason.REJECT_REASON_DUPLICATE);
    assertThat(deadLetters(dlq)).isEqualTo(expected);
  }

  /**
   * The sum of the partitions' last stable offsets: cheap progress, counting commit markers too.
   */
  private long committedOffsets(ViewSpec view) throws Exception {
    try (Admin admin = Admin.create(kafka.clientProperties())) {
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

  private long committedRows(ViewSpec view) {
    return TopicReader.readAll(kafka.clientProperties(), view.topic(), TIMEOUT, r -> {});
  }
}
