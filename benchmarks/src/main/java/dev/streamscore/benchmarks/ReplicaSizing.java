package dev.streamscore.benchmarks;

import dev.streamscore.etl.FeatureProcessor;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.InMemoryEntityState;
import dev.streamscore.etl.TileKeys;
import dev.streamscore.featurestore.FeatureNode;
import dev.streamscore.featurestore.FeatureTopics;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.PartitionSet;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.Value;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;

/**
 * What one replica of the feature topics costs, for sizing partition-aware scoring nodes: the
 * shipped payments spec's tiles for N entities (each with {@code events} payments in the last hour,
 * so every entity has tiles in both views, as a compacted topic holds them: the latest row per
 * tile) go to the {@code features.*} topics of an in-process broker; then a replica of every
 * partition and one of half of them bootstrap from offset 0, timed from start to caught up (the
 * materializer's compaction after a bulk load included). Reported: rows and bytes per entity in the
 * topics and in RocksDB, bootstrap seconds per million entities, and the arithmetic for 10M and
 * 100M entities.
 *
 * <pre>
 * java -Xmx3g -cp benchmarks/target/streamscore-benchmarks.jar \
 *     dev.streamscore.benchmarks.ReplicaSizing [entities=250000] [events=4]
 * </pre>
 */
public final class ReplicaSizing {
  private static final FeatureSpec SPEC = FeatureSpec.shippedPayments();

  public static void main(String[] args) throws Exception {
    int entities = args.length > 0 ? Integer.parseInt(args[0]) : 250_000;
    int eventsPerEntity = args.length > 1 ? Integer.parseInt(args[1]) : 4;
    Path work = Files.createTempDirectory("replica-sizing");
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults())) {
      try (Admin admin = Admin.create(kafka.clientProperties())) {
        FeatureTopics.ensure(admin, SPEC, Duration.ofSeconds(30));
      }
      long now = System.currentTimeMillis();
      long[] written = produce(kafka, entities, eventsPerEntity, now);
      long rows = written[0];
      long topicBytes = written[1];
      System.out.printf(
          Locale.ROOT,
          "%,d entities x %d payments: %,d tile rows (%.1f per entity), %.0f bytes per entity in"
              + " the topics (keys and values)%n",
          entities,
          eventsPerEntity,
          rows,
          rows / (double) entities,
          topicBytes / (double) entities);
      Map<String, double[]> measured = new LinkedHashMap<>();
      measured.put("all 4 partitions", bootstrap(kafka, work.resolve("full"), Optional.empty()));
      measured.put("partitions 0,1", bootstrap(kafka, work.resolve("half"), Optional.of("0,1")));
      System.out.printf(
          Locale.ROOT,
          "%-18s %12s %12s %12s %16s %18s%n",
          "replica",
          "bootstrap s",
          "SST MB",
          "all files MB",
          "SST B/entity",
          "s per 1M entities");
      double[] full = measured.get("all 4 partitions");
      measured.forEach(
          (name, m) -> {
            double share = name.startsWith("all") ? 1 : 0.5;
            System.out.printf(
                Locale.ROOT,
                "%-18s %12.1f %12.1f %12.1f %16.0f %18.1f%n",
                name,
                m[0],
                m[1] / 1e6,
                m[2] / 1e6,
                m[1] / (entities * share),
                m[0] / (entities * share / 1e6));
          });
      double bytesPerEntity = full[1] / entities;
      double secondsPerMillion = full[0] / (entities / 1e6);
      System.out.printf(
          Locale.ROOT, "%nsizing (linear in entities, from the full replica's sorted tables):%n");
      System.out.printf(
          Locale.ROOT,
          "%-12s %6s %16s %20s%n",
          "entities",
          "nodes",
          "store GB/node",
          "bootstrap min");
      for (long n : new long[] {10_000_000L, 100_000_000L}) {
        for (int ways : new int[] {1, 2, 4}) {
          System.out.printf(
              Locale.ROOT,
              "%-12s %6d %16.1f %20.1f%n",
              String.format(Locale.ROOT, "%,d", n),
              ways,
              bytesPerEntity * n / ways / 1e9,
              secondsPerMillion * n / 1e6 / ways / 60);
        }
      }
    } finally {
      Utils.delete(work.toFile());
    }
  }

  /** Writes every entity's tiles; returns {rows, key and value bytes}. */
  private static long[] produce(EmbeddedKafka kafka, int entities, int events, long now) {
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    props.put(ProducerConfig.ACKS_CONFIG, "1");
    props.put(ProducerConfig.LINGER_MS_CONFIG, 20);
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, 512 * 1024);
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    FeatureProcessor processor = FeatureProcessor.of(SPEC, "payments", "core");
    SplittableRandom random = new SplittableRandom(11);
    long rows = 0;
    long bytes = 0;
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (int i = 0; i < entities; i++) {
        String entity = "u" + Long.toHexString(random.nextLong());
        InMemoryEntityState state = new InMemoryEntityState();
        Map<String, FeatureRow> latest = new LinkedHashMap<>();
        long t = now - 3_600_000L + random.nextLong(600_000L);
        for (int k = 0; k < events; k++) {
          t += random.nextLong(1, 600_000L);
          Event e =
              Event.newBuilder()
                  .setSource("payments")
                  .setEntityId(entity)
                  .setEventId(entity + "-" + k)
                  .setEventTimeMs(Math.min(t, now))
                  .putFields(
                      "amount", Value.newBuilder().setDoubleValue(random.nextDouble(500)).build())
                  .putFields(
                      "merchant_id",
                      Value.newBuilder().setStringValue("m" + random.nextInt(5_000)).build())
                  .putFields("country", Value.newBuilder().setStringValue("US").build())
                  .putFields("device", Value.newBuilder().setStringValue("ios").build())
                  .build();
          for (FeatureRow row : processor.process(state, e, now).rows()) {
            latest.put(row.getView() + "@" + row.getTileStartMs(), row);
          }
        }
        for (FeatureRow row : latest.values()) {
          byte[] key = TileKeys.key(entity, row.getTileStartMs());
          byte[] value = row.toByteArray();
          producer.send(
              new ProducerRecord<>(
                  "features." + row.getView(),
                  TileKeys.partition(entity, FeatureTopics.PARTITIONS),
                  key,
                  value));
          rows++;
          bytes += key.length + value.length;
        }
      }
      producer.flush();
    }
    return new long[] {rows, bytes};
  }

  /**
   * Bootstraps a replica; returns {seconds to caught up, bytes of its sorted tables, bytes of all
   * its files (write-ahead log and metadata too)}.
   */
  private static double[] bootstrap(EmbeddedKafka kafka, Path dir, Optional<String> partitions)
      throws InterruptedException {
    long began = System.nanoTime();
    try (FeatureNode node =
        FeatureNode.start(
            new FeatureNode.Config(
                dir, Optional.of(kafka.bootstrapServers()), partitions.map(PartitionSet::parse)),
            SPEC,
            Optional.empty(),
            () -> "",
            Clock.systemUTC())) {
      while (node.behind() > 0) {
        if (!node.problem().isEmpty()) {
          throw new IllegalStateException(node.problem());
        }
        Thread.sleep(50); // a benchmark's poll, not a test's synchronisation
      }
      double seconds = (System.nanoTime() - began) / 1e9;
      return new double[] {seconds, size(dir, ".sst"), size(dir, "")};
    }
  }

  /** The bytes of the files under {@code dir} whose names end with {@code suffix}. */
  private static long size(Path dir, String suffix) {
    try (Stream<Path> files = Files.walk(dir)) {
      return files
          .filter(Files::isRegularFile)
          .filter(p -> p.getFileName().toString().endsWith(suffix))
          .mapToLong(
              p -> {
                try {
                  return Files.size(p);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              })
          .sum();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
