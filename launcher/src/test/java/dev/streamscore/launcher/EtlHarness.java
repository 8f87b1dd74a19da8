package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A real broker with the golden stream's topics, and what the engine ITs read back from it: each
 * view's greatest tile versions, dead letters by reason, a bounded job's counts, and the replay's
 * answers to compare them with.
 */
final class EtlHarness implements AutoCloseable {
  static final long START = 1_764_000_000_000L;
  static final FeatureSpec SPEC = GoldenStream.spec();
  static final Duration TIMEOUT = Duration.ofMinutes(3);
  static final String DLQ = "events.dlq";

  final EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());

  EtlHarness() {
    List<NewTopic> topics = new ArrayList<>();
    topics.add(new NewTopic("events." + GoldenStream.SOURCE, 4, (short) 1));
    topics.add(new NewTopic(DLQ, 2, (short) 1));
    for (ViewSpec view : SPEC.views().values()) {
      topics.add(new NewTopic(view.topic(), 4, (short) 1));
    }
    try (Admin admin = Admin.create(kafka.clientProperties())) {
      Topics.using(admin).ensure(topics, Duration.ofSeconds(60));
    }
  }

  @Override
  public void close() {
    kafka.close();
  }

  void produce(List<Event> events) {
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

  /**
   * Writes hostile records straight to the events topic, between golden events of the same
   * entities: random bytes, a tombstone, a record keyed apart from its event, an event without an
   * entity, event times outside 1970–9999, and an event of about 1 MB whose dead letter must be cut
   * to fit Kafka. Returns the dead letters each must become, by reason.
   */
  Map<RejectReason, Long> produceHostile() {
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 1_048_576);
    String topic = "events." + GoldenStream.SOURCE;
    Event base =
        Event.newBuilder()
            .setSource(GoldenStream.SOURCE)
            .setEntityId("u1")
            .setEventId("hostile")
            .setEventTimeMs(START)
            .build();
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    java.util.Random random = new java.util.Random(16);
    for (int i = 0; i < 10; i++) {
      byte[] noise = new byte[1 + random.nextInt(500)];
      random.nextBytes(noise);
      records.add(new ProducerRecord<>(topic, utf8("u" + i), noise));
    }
    records.add(new ProducerRecord<>(topic, utf8("u2"), null));
    records.add(new ProducerRecord<>(topic, null, base.toByteArray()));
    records.add(new ProducerRecord<>(topic, utf8("u3"), base.toByteArray()));
    records.add(
        new ProducerRecord<>(
            topic, utf8(""), base.toBuilder().setEntityId("").build().toByteArray()));
    long malformed = records.size();
    for (long time : new long[] {Long.MAX_VALUE, Long.MIN_VALUE, -1, 253_402_300_800_000L}) {
      records.add(
          new ProducerRecord<>(
              topic, utf8("u1"), base.toBuilder().setEventTimeMs(time).build().toByteArray()));
    }
    records.add(
        new ProducerRecord<>(
            topic,
            utf8("u1"),
            base.toBuilder()
                .setEventTimeMs(-1)
                .putFields(
                    "merchant_id",
                    dev.streamscore.proto.v1.Value.newBuilder()
                        .setStringValue("m".repeat(1_040_000))
                        .build())
                .build()
                .toByteArray()));
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (ProducerRecord<byte[], byte[]> r : records) {
        producer.send(r);
      }
      producer.flush();
    }
    hostile = records.size();
    return Map.of(
        RejectReason.REJECT_REASON_MALFORMED,
        malformed,
        RejectReason.REJECT_REASON_TIME_OUT_OF_WINDOW,
        records.size() - malformed);
  }

  /** How many hostile records {@link #produceHostile} wrote. */
  int hostile;

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static Path specFile(Path dir) throws Exception {
    Files.createDirectories(dir);
    Path file = dir.resolve("golden.yaml");
    Files.writeString(file, GoldenStream.specText());
    return file;
  }

  /** What a view's topic holds: how many committed rows, and the greatest version of each tile. */
  record Committed(long rows, Map<String, FeatureRow> finalRows) {}

  /**
   * Reads a view's committed rows, checking each one's key and partition, and keeps only the
   * greatest version of each tile (normalized): the topic may hold far more rows than fit in a
   * test's heap.
   */
  Committed committed(ViewSpec view) {
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
                // Where the engine read the row's last event: Kafka's offsets, which the replay
                // of the generated stream does not know. They must be there.
                assertThat(row.getSourceNextOffset()).as("source_next_offset").isPositive();
                assertThat(row.getSourceAppendedMs()).as("source_appended_ms").isPositive();
                tiles.merge(
                    row.getEntityId() + "@" + row.getTileStartMs(),
                    GoldenStream.normalized(row).toBuilder()
                        .clearSourcePartition()
                        .clearSourceNextOffset()
                        .clearSourceAppendedMs()
                        .build(),
                    (a, b) -> a.getVersion() >= b.getVersion() ? a : b);
              } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                throw new AssertionError(e);
              }
            });
    return new Committed(count, tiles);
  }

  long committedRows(ViewSpec view) {
    return TopicReader.readAll(kafka.clientProperties(), view.topic(), TIMEOUT, r -> {});
  }

  static Map<String, FeatureRow> finalRows(Replay replay, ViewSpec view) {
    return GoldenStream.finalRows(replay, view.name());
  }

  /**
   * Dead letters by reason, each source record counted once: an at-least-once writer may write one
   * twice.
   */
  Map<RejectReason, Long> deadLetters(String stage) {
    Map<RejectReason, Long> counts = new EnumMap<>(RejectReason.class);
    Set<String> seen = new HashSet<>();
    TopicReader.readAll(
        kafka.clientProperties(),
        DLQ,
        TIMEOUT,
        record -> {
          try {
            DeadLetter d = DeadLetter.parseFrom(record.value());
            assertThat(d.getStage()).isEqualTo(stage);
            // One record may be late for several views: the message names the view.
            String id = d.getSourcePartition() + "/" + d.getSourceOffset() + "/" + d.getMessage();
            if (seen.add(id)) {
              counts.merge(d.getReason(), 1L, Long::sum);
            }
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
          }
        });
    return counts;
  }

  /**
   * Checks a bounded golden run against the replay: its counts, its dead letters, each view's
   * committed tiles and window values sampled from them.
   *
   * @return the rows committed per view
   */
  Map<String, Long> assertGoldenRun(String doneLine, Replay replay, int events, String stage) {
    return assertGoldenRun(doneLine, replay, events, stage, Map.of());
  }

  /**
   * As above, with hostile records among the events: each must be one more dead letter of its
   * reason, and the golden rows must be untouched.
   */
  Map<String, Long> assertGoldenRun(
      String doneLine,
      Replay replay,
      int events,
      String stage,
      Map<RejectReason, Long> hostileLetters) {
    Map<String, Long> counts = counts(doneLine);
    assertThat(counts.get("events")).isEqualTo(events + hostile);
    Map<RejectReason, Long> expected = new EnumMap<>(replay.rejected());
    long duplicates = expected.remove(RejectReason.REJECT_REASON_DUPLICATE);
    hostileLetters.forEach((reason, n) -> expected.merge(reason, n, Long::sum));
    assertThat(counts.get("rejected.DUPLICATE")).isEqualTo(duplicates);
    assertThat(deadLetters(stage)).isEqualTo(expected);
    Map<String, Long> rows = new HashMap<>();
    for (ViewSpec view : SPEC.views().values()) {
      Committed committed = committed(view);
      rows.put(view.name(), committed.rows());
      Map<String, FeatureRow> core = finalRows(replay, view);
      assertThat(committed.finalRows()).as(view.name()).hasSameSizeAs(core).isEqualTo(core);
      assertWindowValues(view, committed.finalRows(), replay, 400, 9 * 3_600_000L);
    }
    return rows;
  }

  /** The counts of a bounded job's {@code done} line. */
  static Map<String, Long> counts(String doneLine) {
    return dev.streamscore.etl.EtlJobs.parseCounts(doneLine);
  }

  /**
   * Window values at tile boundaries, read from an engine's tiles, equal the exact point-in-time
   * values of the replay.
   */
  static void assertWindowValues(
      ViewSpec view, Map<String, FeatureRow> tiles, Replay replay, int entities, long spanMs) {
    Map<String, List<FeatureRow>> byEntity =
        tiles.values().stream().collect(Collectors.groupingBy(FeatureRow::getEntityId));
    SplittableRandom random = new SplittableRandom(5);
    int compared = 0;
    for (int q = 0; q < 300; q++) {
      String entity = "u" + random.nextInt(entities);
      long t = view.tileStart(START + random.nextLong(spanMs));
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
