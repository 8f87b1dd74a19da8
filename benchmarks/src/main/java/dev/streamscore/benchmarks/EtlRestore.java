package dev.streamscore.benchmarks;

import dev.streamscore.etl.TopicNames;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.launcher.EtlProcess;
import dev.streamscore.proto.v1.FeatureRow;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Utils;

/**
 * How long an ETL job takes to come back with the state of N entities, against how long it takes to
 * start with none, as {@code streamscore up} deploys it (a child JVM, checkpoints in its work
 * directory):
 *
 * <ol>
 *   <li>a probe event for a new entity is sent, the job starts with no state, and the time from its
 *       start to the probe's {@code user_txn} row is taken (the fresh start);
 *   <li>N events, each for another new entity, are sent; once every one's row is committed (with
 *       exactly-once rows are visible only when the checkpoint holding their state has completed;
 *       Spark: once the batch's commit is in its log) the job is SIGKILLed;
 *   <li>the size of the checkpoint directory is taken, another probe sent, and the job started
 *       again: it restores the N entities' state, and the time from its start to the second probe's
 *       row is taken (the restart). The difference is the cost of restoring the state.
 * </ol>
 *
 * <pre>
 * java -Xmx2g -cp benchmarks/target/streamscore-benchmarks.jar \
 *     dev.streamscore.benchmarks.EtlRestore [entities=1000000]
 * </pre>
 *
 * <p>{@code -Detl.restore=flink:rocksdb,flink:hashmap,spark:rocksdb} chooses the jobs (those are
 * the default); {@code -Detl.jobArgs="--delivery at-least-once"} adds options to their command line
 * (with Flink's exactly-once sink a row is visible only once a checkpoint has completed, so the
 * time to it includes the first checkpoint after the restore: with heap state, a full one).
 */
public final class EtlRestore {
  private static final Duration TIMEOUT = Duration.ofMinutes(10);
  private static final String EVENTS = TopicNames.events("payments");
  private static final String ROWS = TopicNames.features("user_txn");

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    String jobs = System.getProperty("etl.restore", "flink:rocksdb,flink:hashmap,spark:rocksdb");
    Path work = Files.createTempDirectory("etl-restore");
    try {
      for (String job : jobs.split(",")) {
        String[] parts = job.split(":");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults())) {
          EtlThroughput.createTopics(kafka);
          run(kafka, parts[0], parts[1], work.resolve(parts[0] + "-" + parts[1]), n);
        }
      }
    } finally {
      Utils.delete(work.toFile());
    }
  }

  private static void run(EmbeddedKafka kafka, String engine, String store, Path work, int n)
      throws Exception {
    try (KafkaProducer<byte[], byte[]> producer = EtlThroughput.producer(kafka, 5);
        KafkaConsumer<byte[], byte[]> rows = EtlThroughput.consumer(kafka)) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (int p = 0; p < 4; p++) {
        partitions.add(new TopicPartition(ROWS, p));
      }
      rows.assign(partitions);
      rows.seekToBeginning(partitions);

      EtlThroughput.sendNew(producer, "probe-fresh", 0);
      long began = System.nanoTime();
      EtlProcess job = start(kafka, engine, store, work);
      double freshRunning = seconds(began);
      awaitRow(rows, "probe-fresh");
      double fresh = seconds(began);

      for (int i = 0; i < n; i++) {
        EtlThroughput.sendNew(producer, "r-" + i, i + 1);
      }
      producer.flush();
      long filling = System.nanoTime();
      awaitRows(rows, n, job);
      if (engine.equals("spark")) {
        awaitSparkCommit(work.resolve("checkpoints").resolve("payments"));
      }
      double fill = seconds(filling);
      job.kill();
      long bytes = size(work.resolve("checkpoints"));

      EtlThroughput.sendNew(producer, "probe-restart", n + 1);
      producer.flush();
      began = System.nanoTime();
      try (EtlProcess restarted = start(kafka, engine, store, work)) {
        double restartRunning = seconds(began);
        long replayed = awaitRow(rows, "probe-restart");
        double restart = seconds(began);
        System.out.printf(
            Locale.ROOT,
            "%s job, %s state, %,d entities (taken in at %,.0f/s): checkpoints %,d bytes (%.0f per"
                + " entity); from start to running / to a new event's row: empty %.1f / %.1f s,"
                + " restored %.1f / %.1f s; restoring cost %.1f s; rows written again before the"
                + " probe's: %,d%n",
            engine,
            store,
            n,
            n / fill,
            bytes,
            (double) bytes / n,
            freshRunning,
            fresh,
            restartRunning,
            restart,
            restart - fresh,
            replayed);
      }
    }
  }

  private static EtlProcess start(EmbeddedKafka kafka, String engine, String store, Path work) {
    List<String> extra = new ArrayList<>();
    String given = System.getProperty("etl.jobArgs", "").strip();
    if (!given.isEmpty()) {
      extra.addAll(List.of(given.split("\\s+")));
    }
    return engine.equals("spark")
        ? EtlProcess.startSpark(
            kafka.bootstrapServers(),
            work,
            Optional.empty(),
            Stream.concat(Stream.of("--state-store", store), extra.stream()).toList(),
            Duration.ofMinutes(3))
        : EtlProcess.startFlink(
            kafka.bootstrapServers(),
            work,
            Optional.empty(),
            Stream.concat(Stream.of("--parallelism", "2", "--state-backend", store), extra.stream())
                .toList(),
            Duration.ofMinutes(3));
  }

  /**
   * Reads rows until one of the entity's and returns how many of other entities came before it (a
   * restarted job that lost its state and offsets would write every row again).
   */
  private static long awaitRow(KafkaConsumer<byte[], byte[]> rows, String entity) throws Exception {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    long others = 0;
    while (System.nanoTime() < deadline) {
      for (ConsumerRecord<byte[], byte[]> r : rows.poll(Duration.ofMillis(20))) {
        if (FeatureRow.parseFrom(r.value()).getEntityId().equals(entity)) {
          return others;
        }
        others++;
      }
    }
    throw new IllegalStateException("no row for " + entity + " within " + TIMEOUT);
  }

  /** Reads until n more rows are seen (each entity has one event, so one row). */
  private static void awaitRows(KafkaConsumer<byte[], byte[]> rows, int n, EtlProcess job) {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    long seen = 0;
    while (seen < n) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("only " + seen + " of " + n + " rows within " + TIMEOUT);
      }
      if (job.exitReason().isPresent()) {
        throw new IllegalStateException(
            job.exitReason().get() + " after " + seen + " of " + n + " rows");
      }
      seen += rows.poll(Duration.ofMillis(200)).count();
    }
  }

  /** Until Spark's commit log has caught up with its offset log: the last batch is checkpointed. */
  private static void awaitSparkCommit(Path query) throws Exception {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (latest(query.resolve("commits")) < latest(query.resolve("offsets"))) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the Spark job's last batch did not commit");
      }
      Thread.sleep(100); // polling the query's logs: they are files, with nothing to listen to
    }
  }

  private static long latest(Path log) throws IOException {
    try (Stream<Path> files = Files.list(log)) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(name -> name.matches("\\d+"))
          .mapToLong(Long::parseLong)
          .max()
          .orElse(-1);
    }
  }

  private static long size(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  private static double seconds(long sinceNanos) {
    return (System.nanoTime() - sinceNanos) / (double) TimeUnit.SECONDS.toNanos(1);
  }

  private EtlRestore() {}
}
