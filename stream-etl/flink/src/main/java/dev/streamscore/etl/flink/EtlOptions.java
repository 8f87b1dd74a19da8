package dev.streamscore.etl.flink;

import dev.streamscore.etl.EtlJobs;
import dev.streamscore.etl.KafkaSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The job's command line, validated once: every error is one sentence saying what to change.
 *
 * @param bootstrap Kafka bootstrap servers
 * @param kafka Kafka connection settings (SASL, TLS) from {@code --kafka-config}; empty for
 *     plaintext
 * @param spec the spec file; empty for the built-in payments spec
 * @param sources the sources to process; empty for every source that has views
 * @param checkpointDir where checkpoints go (and are restored from); empty leaves it to the
 *     cluster's configuration
 * @param checkpointIntervalMs how often to checkpoint; with exactly-once, rows become visible then
 * @param rocksdb RocksDB state backend (else the heap one)
 * @param exactlyOnce exactly-once sink (else at-least-once)
 * @param bounded stop at the offsets that are latest at start, print the counts and exit
 * @param parallelism the job's parallelism; 0 for the environment's default
 * @param dlqTopic where dead letters go
 * @param groupId the consumer group the source reports its offsets under
 * @param parentPid exit when this process is gone (0: no parent to watch)
 * @param emitIntervalMs how often the latest row of each changed tile is written (also before every
 *     checkpoint); 0 writes a row for every change
 */
record EtlOptions(
    String bootstrap,
    Map<String, String> kafka,
    Optional<Path> spec,
    List<String> sources,
    Optional<Path> checkpointDir,
    long checkpointIntervalMs,
    boolean rocksdb,
    boolean exactlyOnce,
    boolean bounded,
    int parallelism,
    String dlqTopic,
    String groupId,
    long parentPid,
    long emitIntervalMs) {

  static final String USAGE =
      "usage: streamscore-etl-flink --bootstrap HOST:PORT [--kafka-config FILE] [--spec FILE]"
          + " [--sources a,b]"
          + " [--checkpoint-dir DIR] [--checkpoint-interval-ms N] [--state-backend rocksdb|hashmap]"
          + " [--delivery exactly-once|at-least-once] [--bounded] [--parallelism N]"
          + " [--dlq-topic T] [--group-id G] [--parent-pid PID] [--emit-interval-ms N]";

  static EtlOptions parse(String[] args) {
    String bootstrap = null;
    Map<String, String> kafka = Map.of();
    Optional<Path> spec = Optional.empty();
    List<String> sources = new ArrayList<>();
    Optional<Path> checkpoints = Optional.empty();
    long interval = 1_000;
    boolean rocksdb = true;
    boolean exactlyOnce = true;
    boolean bounded = false;
    int parallelism = 0;
    String dlq = FeatureJob.DLQ_TOPIC;
    String group = "streamscore-etl-flink";
    long parentPid = 0;
    long emitInterval = 100;
    for (var option : EtlJobs.options(args, java.util.Set.of("--bounded"), USAGE).entrySet()) {
      String name = option.getKey();
      String value = option.getValue();
      switch (name) {
        case "--bounded" -> bounded = true;
        case "--bootstrap" -> bootstrap = value;
        case "--kafka-config" -> kafka = KafkaSettings.load(Path.of(value));
        case "--spec" -> spec = Optional.of(Path.of(value));
        case "--sources" -> sources = List.of(value.split(","));
        case "--checkpoint-dir" -> checkpoints = Optional.of(Path.of(value).toAbsolutePath());
        case "--checkpoint-interval-ms" -> interval = EtlJobs.positive(name, value);
        case "--state-backend" -> rocksdb = EtlJobs.either(name, value, "rocksdb", "hashmap");
        case "--delivery" ->
            exactlyOnce = EtlJobs.either(name, value, "exactly-once", "at-least-once");
        case "--parallelism" -> parallelism = (int) EtlJobs.positive(name, value);
        case "--dlq-topic" -> dlq = value;
        case "--group-id" -> group = value;
        case "--parent-pid" -> parentPid = EtlJobs.positive(name, value);
        case "--emit-interval-ms" ->
            emitInterval = value.equals("0") ? 0 : EtlJobs.positive(name, value);
        default -> throw new IllegalArgumentException("unknown option '" + name + "'; " + USAGE);
      }
    }
    if (bootstrap == null || bootstrap.isBlank()) {
      throw new IllegalArgumentException("--bootstrap is required; " + USAGE);
    }
    return new EtlOptions(
        bootstrap,
        kafka,
        spec,
        sources,
        checkpoints,
        interval,
        rocksdb,
        exactlyOnce,
        bounded,
        parallelism,
        dlq,
        group,
        parentPid,
        emitInterval);
  }
}
