package dev.streamscore.etl.spark;

import dev.streamscore.etl.EtlJobs;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.KafkaSettings;
import dev.streamscore.etl.SpecException;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.etl.ViewSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.Trigger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the ETL job on Spark: {@code local[N]} when started with {@code java -jar} (the embedded
 * default, which {@code streamscore up --engine spark} uses), or on a cluster with {@code
 * spark-submit}, which sets the master. One streaming query per source, each with its checkpoint
 * under {@code --checkpoint-dir}: a restart resumes from the last committed batch, offsets and
 * entity state alike.
 *
 * <p>Spark's Kafka sink is at-least-once: after a failure a batch may be written again. That is
 * harmless here: a tile row carries its version, and readers keep a tile's greatest.
 *
 * <p>Standard output carries {@code running <job name>} once every query runs and, with {@code
 * --bounded}, {@code done events=… rows=… rejected.<REASON>=…} when they end. Exit status 2 for a
 * bad command line, spec or missing topic, 1 when a query fails.
 */
public final class SparkEtlMain {
  private static final Logger LOG = LoggerFactory.getLogger(SparkEtlMain.class);

  static final String USAGE =
      "usage: streamscore-etl-spark --bootstrap HOST:PORT [--kafka-config FILE] [--spec FILE]"
          + " [--sources a,b]"
          + " [--checkpoint-dir DIR] [--trigger-interval-ms N] [--max-offsets-per-trigger N]"
          + " [--state-store rocksdb|memory] [--bounded] [--threads N]"
          + " [--dlq-topic T] [--parent-pid PID]";

  private SparkEtlMain() {}

  /** The command line, validated once: every error is one sentence saying what to change. */
  record Options(
      String bootstrap,
      Map<String, String> kafka,
      Optional<Path> spec,
      List<String> sources,
      Path checkpointDir,
      long triggerIntervalMs,
      long maxOffsetsPerTrigger,
      boolean rocksdb,
      boolean bounded,
      int threads,
      String dlqTopic,
      long parentPid) {

    static Options parse(String[] args) {
      String bootstrap = null;
      Map<String, String> kafka = Map.of();
      Optional<Path> spec = Optional.empty();
      List<String> sources = List.of();
      Path checkpoints = Path.of("spark-checkpoints").toAbsolutePath();
      long interval = 500;
      long maxOffsets = 0;
      boolean rocksdb = true;
      boolean bounded = false;
      int threads = 2;
      String dlq = SparkFeatureJob.DLQ_TOPIC;
      long parent = 0;
      for (var option : EtlJobs.options(args, java.util.Set.of("--bounded"), USAGE).entrySet()) {
        String name = option.getKey();
        String value = option.getValue();
        switch (name) {
          case "--bounded" -> bounded = true;
          case "--bootstrap" -> bootstrap = value;
          case "--kafka-config" -> kafka = KafkaSettings.load(Path.of(value));
          case "--spec" -> spec = Optional.of(Path.of(value));
          case "--sources" -> sources = List.of(value.split(","));
          case "--checkpoint-dir" -> checkpoints = Path.of(value).toAbsolutePath();
          case "--trigger-interval-ms" -> interval = EtlJobs.positive(name, value);
          case "--max-offsets-per-trigger" -> maxOffsets = EtlJobs.positive(name, value);
          case "--threads" -> threads = (int) EtlJobs.positive(name, value);
          case "--state-store" -> rocksdb = EtlJobs.either(name, value, "rocksdb", "memory");
          case "--dlq-topic" -> dlq = value;
          case "--parent-pid" -> parent = EtlJobs.positive(name, value);
          default -> throw new IllegalArgumentException("unknown option '" + name + "'; " + USAGE);
        }
      }
      if (bootstrap == null || bootstrap.isBlank()) {
        throw new IllegalArgumentException("--bootstrap is required; " + USAGE);
      }
      return new Options(
          bootstrap,
          kafka,
          spec,
          sources,
          checkpoints,
          interval,
          maxOffsets,
          rocksdb,
          bounded,
          threads,
          dlq,
          parent);
    }
  }

  /** The connection settings as the Kafka source's and sink's {@code kafka.}-prefixed options. */
  private static Map<String, String> kafkaOptions(Options options) {
    Map<String, String> prefixed = new HashMap<>();
    options.kafka().forEach((k, v) -> prefixed.put("kafka." + k, v));
    return prefixed;
  }

  public static void main(String[] args) throws Exception {
    Options options;
    EtlJobs.SpecText spec;
    FeatureSpec parsed;
    List<String> sources;
    Map<String, Integer> partitions;
    try {
      options = Options.parse(args);
      spec = EtlJobs.spec(options.spec());
      parsed = spec.parse();
      sources = EtlJobs.sources(parsed, options.sources());
      partitions = partitions(options, parsed, sources);
    } catch (IllegalArgumentException | SpecException e) {
      System.err.println("streamscore-etl-spark: " + e.getMessage());
      System.exit(2);
      return;
    }
    if (options.parentPid() > 0) {
      EtlJobs.exitWithParent(options.parentPid(), "streamscore-etl-spark", LOG::warn);
    }
    System.exit(run(options, spec, sources, partitions));
  }

  /**
   * The partition counts of the topics the job writes; they must exist (the platform makes them).
   */
  private static Map<String, Integer> partitions(
      Options options, FeatureSpec spec, List<String> sources) {
    List<String> topics = new ArrayList<>();
    for (String source : sources) {
      topics.add(TopicNames.events(source));
      spec.viewsOf(source).stream().map(ViewSpec::topic).forEach(topics::add);
    }
    topics.add(options.dlqTopic());
    Map<String, Object> adminConfig = new HashMap<>(options.kafka());
    adminConfig.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, options.bootstrap());
    adminConfig.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
    try (Admin admin = Admin.create(adminConfig)) {
      Map<String, Integer> counts = new HashMap<>();
      Map<String, TopicDescription> described =
          admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS);
      described.forEach((name, d) -> counts.put(name, d.partitions().size()));
      return counts;
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalArgumentException(
          "cannot describe the topics "
              + topics
              + " at "
              + options.bootstrap()
              + " (they must exist): "
              + e.getCause().getMessage());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalArgumentException(
          "no Kafka broker answered at " + options.bootstrap() + " within 30 s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalArgumentException("interrupted while describing the topics");
    }
  }

  /**
   * When the batch that every query has committed last ended (the oldest of the queries' newest),
   * ms since the epoch; empty before each has committed one.
   */
  private static Optional<Long> lastCommitted(List<StreamingQuery> queries) {
    long oldest = Long.MAX_VALUE;
    for (StreamingQuery q : queries) {
      var progress = q.lastProgress();
      if (progress == null) {
        return Optional.empty();
      }
      long end =
          java.time.Instant.parse(progress.timestamp()).toEpochMilli() + progress.batchDuration();
      oldest = Math.min(oldest, end);
    }
    return oldest == Long.MAX_VALUE ? Optional.empty() : Optional.of(oldest);
  }

  private static int run(
      Options options, EtlJobs.SpecText spec, List<String> sources, Map<String, Integer> partitions)
      throws Exception {
    String jobName = "streamscore-etl " + String.join(",", sources);
    // spark-submit sets the master; java -jar is the embedded default.
    SparkSession spark =
        System.getProperty("spark.master") != null
            ? SparkSession.builder().appName(jobName).getOrCreate()
            : SparkJobs.localSession(jobName, options.threads());
    // RocksDB keeps entity state off the heap and checkpoints it incrementally: state larger than
    // memory, as Flink's RocksDB backend allows. Set before the first query; a checkpoint made with
    // one provider must be restored with the same one.
    // Stateful streaming cannot use adaptive execution; turning it off spares a warning a query.
    spark.conf().set("spark.sql.adaptive.enabled", "false");
    spark
        .conf()
        .set(
            "spark.sql.streaming.stateStore.providerClass",
            options.rocksdb()
                ? "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
                : "org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider");
    EtlGroupFunction.Counters counters =
        new EtlGroupFunction.Counters(spark.sparkContext(), spec.parse().views().keySet());
    List<StreamingQuery> queries = new ArrayList<>();
    for (String source : sources) {
      String topic = TopicNames.events(source);
      org.apache.spark.sql.streaming.DataStreamReader reader =
          spark
              .readStream()
              .format("kafka")
              .option("kafka.bootstrap.servers", options.bootstrap())
              .option("subscribe", topic)
              .option("startingOffsets", "earliest")
              // Only what the validator committed: the same records Flink's source reads.
              .option("kafka.isolation.level", "read_committed")
              .options(kafkaOptions(options));
      if (options.maxOffsetsPerTrigger() > 0) {
        reader = reader.option("maxOffsetsPerTrigger", options.maxOffsetsPerTrigger());
      }
      Dataset<EventRow> events =
          reader
              .load()
              .selectExpr(
                  "CAST(key AS STRING) AS entityId",
                  "topic",
                  "partition",
                  "offset",
                  "unix_millis(timestamp) AS timestampMs",
                  "key",
                  "value")
              .as(Encoders.bean(EventRow.class));
      Trigger trigger =
          options.bounded()
              ? Trigger.AvailableNow()
              : Trigger.ProcessingTime(options.triggerIntervalMs());
      queries.add(
          SparkFeatureJob.features(
                  events,
                  spec.yaml(),
                  spec.origin(),
                  source,
                  options.dlqTopic(),
                  partitions,
                  counters)
              .writeStream()
              .queryName("etl-" + source)
              .format("kafka")
              .option("kafka.bootstrap.servers", options.bootstrap())
              .option("kafka.acks", "all")
              .options(kafkaOptions(options))
              .option("checkpointLocation", options.checkpointDir().resolve(source).toString())
              .trigger(trigger)
              .start());
    }
    Thread stopper =
        new Thread(
            () -> {
              for (StreamingQuery q : queries) {
                try {
                  q.stop();
                } catch (Exception e) {
                  // stopping anyway
                }
              }
              spark.stop();
            },
            "etl-stopper");
    Runtime.getRuntime().addShutdownHook(stopper);
    System.out.println("running " + jobName);
    System.out.flush();
    if (options.parentPid() > 0) {
      // For the platform that launched the job; the driver's accumulators take a batch's counts
      // as its tasks finish.
      EtlJobs.printCounts(
          () -> {
            Map<String, Long> counts = new java.util.TreeMap<>(counters.snapshot());
            lastCommitted(queries).ifPresent(t -> counts.put(EtlJobs.CHECKPOINT_COMPLETED_AT, t));
            return Optional.of(counts);
          });
    }
    LOG.info(
        "running {} on {} ({} state, at-least-once delivery, trigger {}, checkpoints in {})",
        jobName,
        spark.sparkContext().master(),
        options.rocksdb() ? "RocksDB" : "in-memory",
        options.bounded() ? "available-now" : options.triggerIntervalMs() + " ms",
        options.checkpointDir());
    try {
      for (StreamingQuery q : queries) {
        q.awaitTermination();
      }
    } catch (Exception e) {
      LOG.error("job {} failed: {}", jobName, rootMessage(e));
      return 1;
    }
    System.out.println("done " + EtlJobs.counts(counters.snapshot()));
    System.out.flush();
    try {
      Runtime.getRuntime().removeShutdownHook(stopper);
    } catch (IllegalStateException e) {
      // shutting down already
    }
    spark.stop();
    LOG.info("finished {}", jobName);
    return 0;
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + ": " + t.getMessage();
  }
}
