package dev.streamscore.featurestore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.FeatureDef;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.GoldenStream;
import dev.streamscore.etl.Replay;
import dev.streamscore.etl.TileKeys;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.kafka.Topics;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
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
      Topics.using(admin)
          .ensure(
              topics.stream().map(t -> new NewTopic(t, 4, (short) 1)).toList(),
              Duration.ofSeconds(30));
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
}
