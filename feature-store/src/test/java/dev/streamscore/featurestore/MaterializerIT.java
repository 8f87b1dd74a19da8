package dev.streamscore.featurestore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.FeatureDef;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.GoldenStream;
import dev.streamscore.etl.Replay;
import dev.streamscore.etl.SourcePosition;
import dev.streamscore.etl.TileKeys;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.kafka.Topics;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.PartitionSet;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The materializer against a real broker: a full replica, and a restart that reads nothing twice.
 */
class MaterializerIT {
  private static final long START = 1_764_000_000_000L;
  private static final FeatureSpec SPEC = GoldenStream.spec();

  private static void produce(EmbeddedKafka kafka, List<FeatureRow> rows) {
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (FeatureRow row : rows) {
        producer.send(
            new ProducerRecord<>(
                "features." + row.getView(),
                TileKeys.partition(row.getEntityId(), 4),
                TileKeys.key(row.getEntityId(), row.getTileStartMs()),
                row.toByteArray()));
      }
      producer.flush();
    }
  }

  /** The feature topics, 4 partitions each. */
  private static void createTopics(Admin admin, List<String> topics) {
    Topics.using(admin)
        .ensure(
            topics.stream().map(t -> new NewTopic(t, 4, (short) 1)).toList(),
            Duration.ofSeconds(30));
  }

  @Test
  void buildsAFullReplicaAndResumesFromItsOwnOffsetsAfterARestart(@TempDir Path dir) {
    List<Event> events = GoldenStream.generate(3, 20_000, 300, START, 4 * 3_600_000L);
    Replay replay = new Replay(SPEC, GoldenStream.SOURCE);
    List<FeatureRow> first = new ArrayList<>();
    List<FeatureRow> second = new ArrayList<>();
    for (int i = 0; i < events.size(); i++) {
      (i < events.size() / 2 ? first : second).addAll(replay.accept(events.get(i)).rows());
    }
    List<String> topics = SPEC.views().values().stream().map(ViewSpec::topic).toList();

    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Admin admin = Admin.create(kafka.clientProperties())) {
      createTopics(admin, topics);
      produce(kafka, first);
      try (FeatureStore store = FeatureStore.open(dir, SPEC);
          Materializer m =
              Materializer.start(kafka.bootstrapServers(), topics, store, Clock.systemUTC())) {
        await().atMost(Duration.ofMinutes(1)).until(m::caughtUp);
        assertThat(m.rowsRead()).isEqualTo(first.size());
        assertThat(m.lag()).isZero();
        assertThat(m.freshnessMs()).isGreaterThanOrEqualTo(0);
      }

      produce(kafka, second);
      try (FeatureStore store = FeatureStore.open(dir, SPEC);
          Materializer m =
              Materializer.start(kafka.bootstrapServers(), topics, store, Clock.systemUTC())) {
        await().atMost(Duration.ofMinutes(1)).until(m::caughtUp);
        assertThat(m.rowsRead()).as("only what arrived while it was down").isEqualTo(second.size());

        SplittableRandom random = new SplittableRandom(3);
        for (int q = 0; q < 200; q++) {
          String entity = "u" + random.nextInt(300);
          for (ViewSpec view : SPEC.views().values()) {
            long t = view.tileStart(START + 4 * 3_600_000L - 600_000 + random.nextLong(3_600_000L));
            for (FeatureDef f : view.features().values()) {
              assertThat(store.value(view.name() + ":" + f.name(), entity, t))
                  .as("%s:%s of %s at %d", view.name(), f.name(), entity, t)
                  .isEqualTo(replay.valueAt(view.name(), f.name(), entity, t));
            }
          }
        }
      }
    }
  }

  @Test
  void saysHowFarItsRowsAreBehindEachEventsPartitionAndRemembersItAcrossARestart(@TempDir Path dir)
      throws Exception {
    List<Event> events = GoldenStream.generate(5, 6_000, 100, START, 2 * 3_600_000L);
    String eventsTopic = TopicNames.events(GoldenStream.SOURCE);
    List<String> topics = SPEC.views().values().stream().map(ViewSpec::topic).toList();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Admin admin = Admin.create(kafka.clientProperties())) {
      List<NewTopic> all = new ArrayList<>();
      topics.forEach(t -> all.add(new NewTopic(t, 4, (short) 1)));
      all.add(new NewTopic(eventsTopic, 4, (short) 1));
      Topics.using(admin).ensure(all, Duration.ofSeconds(30));
      // The events as the validator writes them (keyed by entity), and where each landed.
      List<RecordMetadata> landed = new ArrayList<>();
      Map<String, Object> props = new HashMap<>(kafka.clientProperties());
      props.put(ProducerConfig.ACKS_CONFIG, "all");
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
        List<java.util.concurrent.Future<RecordMetadata>> sent = new ArrayList<>();
        for (Event e : events) {
          sent.add(
              producer.send(
                  new ProducerRecord<>(
                      eventsTopic,
                      e.getEntityId().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                      e.toByteArray())));
        }
        for (var f : sent) {
          landed.add(f.get());
        }
      }
      Replay replay = Replay.finalRowsOnly(SPEC, GoldenStream.SOURCE);
      List<FeatureRow> first = new ArrayList<>();
      long[] end = new long[4];
      long[] appliedFirst = new long[4];
      long[] appliedAll = new long[4];
      for (int i = 0; i < events.size(); i++) {
        RecordMetadata at = landed.get(i);
        List<FeatureRow> rows =
            replay
                .accept(
                    events.get(i), new SourcePosition(at.partition(), at.offset(), at.timestamp()))
                .rows();
        int p = at.partition();
        end[p] = Math.max(end[p], at.offset() + 1);
        if (!rows.isEmpty()) {
          appliedAll[p] = at.offset() + 1;
          if (i < events.size() / 2) {
            appliedFirst[p] = at.offset() + 1;
            first.addAll(rows);
          }
        }
      }
      produce(kafka, first);
      // An entity of each partition.
      String[] entityOf = new String[4];
      for (Event e : events) {
        entityOf[TileKeys.partition(e.getEntityId(), 4)] = e.getEntityId();
      }

      try (FeatureStore store = FeatureStore.open(dir, SPEC);
          Materializer m =
              Materializer.start(kafka.bootstrapServers(), topics, store, Clock.systemUTC())) {
        await().atMost(Duration.ofMinutes(1)).until(m::caughtUp);
        for (int p = 0; p < 4; p++) {
          String entity = entityOf[p];
          long behind = end[p] - appliedFirst[p];
          await()
              .atMost(Duration.ofSeconds(30))
              .until(() -> m.freshness(eventsTopic, entity).isPresent());
          assertThat(m.freshness(eventsTopic, entity).orElseThrow().getBehindRecords())
              .as("partition %d", p)
              .isEqualTo(behind)
              .isPositive();
          assertThat(m.freshness(eventsTopic, entity).orElseThrow().getBehindMs()).isPositive();
        }
        assertThat(m.freshness("events.unknown", "u1")).isEmpty();
      }

      List<FeatureRow> second = new ArrayList<>();
      Replay again = Replay.finalRowsOnly(SPEC, GoldenStream.SOURCE);
      for (int i = 0; i < events.size(); i++) {
        RecordMetadata at = landed.get(i);
        List<FeatureRow> rows =
            again
                .accept(
                    events.get(i), new SourcePosition(at.partition(), at.offset(), at.timestamp()))
                .rows();
        if (i >= events.size() / 2) {
          second.addAll(rows);
        }
      }
      produce(kafka, second);
      try (FeatureStore store = FeatureStore.open(dir, SPEC);
          Materializer m =
              Materializer.start(kafka.bootstrapServers(), topics, store, Clock.systemUTC())) {
        await().atMost(Duration.ofMinutes(1)).until(m::caughtUp);
        for (int p = 0; p < 4; p++) {
          String entity = entityOf[p];
          // Only events the ETL rejected (duplicates, late, invalid) may remain behind.
          long behind = end[p] - appliedAll[p];
          await()
              .atMost(Duration.ofSeconds(30))
              .until(() -> m.freshness(eventsTopic, entity).isPresent());
          assertThat(m.freshness(eventsTopic, entity).orElseThrow().getBehindRecords())
              .as("partition %d", p)
              .isEqualTo(behind);
        }
        assertThat(store.applied(new SourcePartition(eventsTopic, 0)).orElseThrow().nextOffset())
            .isEqualTo(appliedAll[0]);
        assertThat(store.offsets().keySet()).allMatch(sp -> topics.contains(sp.topic()));
      }
    }
  }

  @Test
  void aReplicaOfSomePartitionsReadsOnlyThemAndRefusesTheOtherEntities(@TempDir Path dir) {
    List<Event> events = GoldenStream.generate(5, 5_000, 200, START, 3_600_000L);
    Replay replay = new Replay(SPEC, GoldenStream.SOURCE);
    List<FeatureRow> rows = new ArrayList<>();
    events.forEach(e -> rows.addAll(replay.accept(e).rows()));
    long held = rows.stream().filter(r -> TileKeys.partition(r.getEntityId(), 4) < 2).count();
    List<String> topics = SPEC.views().values().stream().map(ViewSpec::topic).toList();

    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Admin admin = Admin.create(kafka.clientProperties())) {
      createTopics(admin, topics);
      produce(kafka, rows);
      try (FeatureStore store = FeatureStore.open(dir, SPEC);
          Materializer m =
              Materializer.start(
                  kafka.bootstrapServers(),
                  topics,
                  Optional.of(PartitionSet.parse("0,1")),
                  store,
                  Clock.systemUTC())) {
        await().atMost(Duration.ofMinutes(1)).until(m::caughtUp);
        assertThat(m.rowsRead()).isEqualTo(held).isLessThan(rows.size());
        assertThat(store.offsets().keySet()).allMatch(sp -> sp.partition() < 2);
        for (Event e : events.subList(0, 200)) {
          String entity = e.getEntityId();
          int partition = TileKeys.partition(entity, 4);
          String refusal = store.ownership().refusal(entity);
          if (partition < 2) {
            assertThat(refusal).isNull();
            ViewSpec view = SPEC.views().values().iterator().next();
            FeatureDef f = view.features().values().iterator().next();
            long t = START + 3_600_000L;
            assertThat(store.value(view.name() + ":" + f.name(), entity, t))
                .isEqualTo(replay.valueAt(view.name(), f.name(), entity, t));
          } else {
            assertThat(refusal)
                .contains("partition " + partition + " of the feature topics (of 4)")
                .contains("holds partitions 0,1");
          }
        }
      }
      try (FeatureStore store = FeatureStore.open(dir.resolve("beyond"), SPEC)) {
        assertThatThrownBy(
                () ->
                    Materializer.start(
                        kafka.bootstrapServers(),
                        topics,
                        Optional.of(PartitionSet.parse("3-4")),
                        store,
                        Clock.systemUTC()))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("have 4 partitions (0..3); cannot hold partitions 3,4");
      }
    }
  }
}
