package dev.streamscore.launcher;

import dev.streamscore.modelsync.ModelAlias;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What {@code streamscore up} runs.
 *
 * @param externalKafka bootstrap servers of an existing cluster; empty starts the embedded broker
 * @param dataDir where state survives restarts; empty means a temporary directory removed on exit
 * @param kafkaPort the embedded broker's port on 127.0.0.1 (0: any free port)
 * @param connectTimeout how long to wait for an external cluster to answer
 * @param spec the feature-definition spec file; empty uses the shipped payments spec
 * @param ingestPort the gRPC ingest gateway's port on 127.0.0.1 (0: any free port)
 * @param metricsPort the Prometheus metrics endpoint's port on 127.0.0.1 (0: any free port)
 * @param engine the streaming ETL engine that computes features
 * @param featuresPort the gRPC FeatureService's port on 127.0.0.1 (0: any free port)
 * @param registryPort the gRPC model registry's port on 127.0.0.1 (0: any free port)
 * @param registryToken when present, writes to the registry need it
 * @param scoringPort the gRPC scoring service's port on 127.0.0.1 (0: any free port)
 * @param streamScoring {@code model:alias} whose version scores every event of the first source
 *     with views; empty for none
 * @param grpcInputLog whether gRPC predictions are logged with their input vectors (for {@code
 *     streamscore consistency})
 * @param labelFields per source, an event field that labels the event's own prediction, for live
 *     quality
 * @param consolePort the web console's port on 127.0.0.1 (0: any free port)
 */
record PlatformConfig(
    Optional<String> externalKafka,
    Optional<Path> dataDir,
    int kafkaPort,
    Duration connectTimeout,
    Optional<Path> spec,
    int ingestPort,
    int metricsPort,
    Engine engine,
    int featuresPort,
    int registryPort,
    Optional<String> registryToken,
    int scoringPort,
    Optional<ModelAlias> streamScoring,
    boolean grpcInputLog,
    Map<String, String> labelFields,
    int consolePort) {

  /** The streaming ETL engine. */
  enum Engine {
    /** The Flink job on a MiniCluster in a child JVM. */
    FLINK,
    /** The Spark job in local[2] in a child JVM. */
    SPARK,
    /** No ETL: events are validated only. */
    NONE;

    /**
     * The engine named on a command line.
     *
     * @throws StartupException naming the choices
     */
    static Engine parse(String name) {
      return switch (name) {
        case "flink" -> FLINK;
        case "spark" -> SPARK;
        case "none" -> NONE;
        default ->
            throw new StartupException("--engine must be flink, spark or none, got '" + name + "'");
      };
    }
  }

  static final int DEFAULT_KAFKA_PORT = 9092;
  static final int DEFAULT_INGEST_PORT = 50051;
  static final int DEFAULT_METRICS_PORT = 9464;
  static final int DEFAULT_FEATURES_PORT = 50052;
  static final int DEFAULT_REGISTRY_PORT = 50053;
  static final int DEFAULT_SCORING_PORT = 50054;
  static final int DEFAULT_CONSOLE_PORT = 8070;

  /** Where {@code up} and the {@code models} commands read the registry's write token. */
  static final String TOKEN_ENV = "STREAMSCORE_REGISTRY_TOKEN";

  private static final Pattern BOOTSTRAP =
      Pattern.compile("[A-Za-z0-9._\\-\\[\\]:]+:\\d{1,5}(,[A-Za-z0-9._\\-\\[\\]:]+:\\d{1,5})*");

  PlatformConfig {
    Objects.requireNonNull(externalKafka, "externalKafka");
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(engine, "engine");
    Objects.requireNonNull(registryToken, "registryToken");
    Objects.requireNonNull(streamScoring, "streamScoring");
    externalKafka.ifPresent(
        servers -> {
          if (!BOOTSTRAP.matcher(servers).matches()) {
            throw new StartupException(
                "--kafka must be host:port[,host:port...], got '" + servers + "'");
          }
        });
    port("--kafka-port", kafkaPort);
    port("--ingest-port", ingestPort);
    port("--metrics-port", metricsPort);
    port("--features-port", featuresPort);
    port("--registry-port", registryPort);
    port("--scoring-port", scoringPort);
    if (connectTimeout.isNegative() || connectTimeout.isZero()) {
      throw new StartupException("the Kafka connect timeout must be positive");
    }
  }

  /**
   * The embedded default with every port chosen by the system and no ETL engine: for tests, which
   * must not collide with each other or with a platform already running on this machine.
   */
  static PlatformConfig anyPorts(Optional<String> externalKafka, Optional<Path> dataDir) {
    return new PlatformConfig(
        externalKafka,
        dataDir,
        0,
        Duration.ofSeconds(15),
        Optional.empty(),
        0,
        0,
        Engine.NONE,
        0,
        0,
        Optional.empty(),
        0,
        Optional.empty(),
        false,
        Map.of(),
        0);
  }

  PlatformConfig withConnectTimeout(Duration timeout) {
    return new PlatformConfig(
        externalKafka,
        dataDir,
        kafkaPort,
        timeout,
        spec,
        ingestPort,
        metricsPort,
        engine,
        featuresPort,
        registryPort,
        registryToken,
        scoringPort,
        streamScoring,
        grpcInputLog,
        labelFields,
        consolePort);
  }

  PlatformConfig withStreamScoring(ModelAlias alias) {
    return new PlatformConfig(
        externalKafka,
        dataDir,
        kafkaPort,
        connectTimeout,
        spec,
        ingestPort,
        metricsPort,
        engine,
        featuresPort,
        registryPort,
        registryToken,
        scoringPort,
        Optional.of(alias),
        grpcInputLog,
        labelFields,
        consolePort);
  }

  PlatformConfig withGrpcInputLog(boolean on) {
    return new PlatformConfig(
        externalKafka,
        dataDir,
        kafkaPort,
        connectTimeout,
        spec,
        ingestPort,
        metricsPort,
        engine,
        featuresPort,
        registryPort,
        registryToken,
        scoringPort,
        streamScoring,
        on,
        labelFields,
        consolePort);
  }

  private static void port(String option, int port) {
    if (port < 0 || port > 65535) {
      throw new StartupException(option + " must be between 0 and 65535, got " + port);
    }
  }

  boolean embeddedKafka() {
    return externalKafka.isEmpty();
  }
}
