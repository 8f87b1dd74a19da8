package dev.streamscore.launcher;

import dev.streamscore.modelsync.ModelAlias;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamscore up}: runs the platform until SIGINT or SIGTERM. */
@Command(
    name = "up",
    mixinStandardHelpOptions = true,
    description = {
      "Starts the platform and runs it until interrupted (Ctrl-C, SIGTERM).",
      "Prints each endpoint as 'name: address', then 'ready'."
    })
final class UpCommand implements Callable<Integer> {

  @Option(
      names = "--kafka",
      paramLabel = "HOST:PORT[,HOST:PORT...]",
      description = "Use this Kafka cluster instead of starting the embedded broker.")
  String kafka;

  @Option(
      names = "--kafka-port",
      paramLabel = "PORT",
      defaultValue = "" + PlatformConfig.DEFAULT_KAFKA_PORT,
      description =
          "Port of the embedded broker on 127.0.0.1; 0 for any free port (default: ${DEFAULT-VALUE}).")
  int kafkaPort;

  @Option(
      names = "--ingest-port",
      paramLabel = "PORT",
      defaultValue = "" + PlatformConfig.DEFAULT_INGEST_PORT,
      description =
          "Port of the gRPC ingest gateway on 127.0.0.1; 0 for any free port (default: ${DEFAULT-VALUE}).")
  int ingestPort;

  @Option(
      names = "--metrics-port",
      paramLabel = "PORT",
      defaultValue = "" + PlatformConfig.DEFAULT_METRICS_PORT,
      description =
          "Port of the Prometheus metrics endpoint on 127.0.0.1; 0 for any free port (default: ${DEFAULT-VALUE}).")
  int metricsPort;

  @Option(
      names = "--console-port",
      paramLabel = "PORT",
      defaultValue = "" + PlatformConfig.DEFAULT_CONSOLE_PORT,
      description =
          "Port of the web console on 127.0.0.1; 0 for any free port (default: ${DEFAULT-VALUE}).")
  int consolePort;

  @CommandLine.Mixin StateOptions state;

  @CommandLine.Mixin ServerSecurityOptions serverSecurity;

  @CommandLine.Mixin KafkaConfigOption kafkaConfig;

  @Option(
      names = "--features-port",
      paramLabel = "PORT",
      defaultValue = "" + PlatformConfig.DEFAULT_FEATURES_PORT,
      description =
          "Port of the gRPC FeatureService on 127.0.0.1; 0 for any free port (default: ${DEFAULT-VALUE}).")
  int featuresPort;

  @Option(
      names = "--registry-port",
      paramLabel = "PORT",
      defaultValue = "" + PlatformConfig.DEFAULT_REGISTRY_PORT,
      description =
          "Port of the gRPC model registry on 127.0.0.1; 0 for any free port (default: ${DEFAULT-VALUE}). Writes need the token in $"
              + PlatformConfig.TOKEN_ENV
              + " when that is set.")
  int registryPort;

  @Option(
      names = "--scoring-port",
      paramLabel = "PORT",
      defaultValue = "" + PlatformConfig.DEFAULT_SCORING_PORT,
      description =
          "Port of the gRPC scoring service on 127.0.0.1; 0 for any free port (default: ${DEFAULT-VALUE}).")
  int scoringPort;

  @Option(
      names = "--stream-scoring",
      paramLabel = "MODEL:ALIAS",
      defaultValue = "fraud:prod",
      description =
          "Score every event with this model alias (Kafka Streams, exactly-once) into"
              + " predictions.<model>, once the alias has a version; none to turn off (default: ${DEFAULT-VALUE}).")
  String streamScoring;

  @Option(
      names = "--grpc-input-log",
      paramLabel = "on|off",
      defaultValue = "on",
      description =
          "Log each gRPC prediction's input vector to predictions.<model>, for drift and"
              + " streamscore consistency (default: ${DEFAULT-VALUE}).")
  String grpcInputLog;

  @Option(
      names = "--label-field",
      paramLabel = "SOURCE:FIELD",
      defaultValue = "payments:is_fraud",
      description =
          "An event field that labels the event's own prediction, for live quality; none to"
              + " turn off (default: ${DEFAULT-VALUE}).")
  String labelField;

  @Option(
      names = "--engine",
      paramLabel = "ENGINE",
      defaultValue = "flink",
      description =
          "The streaming ETL engine: flink (a MiniCluster in a child JVM), spark (local[2] in a"
              + " child JVM) or none (default: ${DEFAULT-VALUE}).")
  String engine;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** {@code SOURCE:FIELD}, or {@code none}. */
  static Map<String, String> labelFields(String option) {
    if (option.equals("none")) {
      return Map.of();
    }
    String[] parts = option.split(":", -1);
    if (parts.length != 2 || parts[0].isBlank() || parts[1].isBlank()) {
      throw new StartupException(
          "--label-field must be SOURCE:FIELD or none, got '" + option + "'");
    }
    return Map.of(parts[0], parts[1]);
  }

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    if (kafka != null && spec.commandLine().getParseResult().hasMatchedOption("--kafka-port")) {
      throw new StartupException("--kafka and --kafka-port exclude each other");
    }
    PlatformConfig config =
        new PlatformConfig(
            Optional.ofNullable(kafka),
            state.dataDir(),
            kafkaPort,
            Duration.ofSeconds(15),
            state.specFile(),
            ingestPort,
            metricsPort,
            PlatformConfig.Engine.parse(engine),
            featuresPort,
            registryPort,
            Optional.ofNullable(System.getenv(PlatformConfig.TOKEN_ENV)).filter(t -> !t.isBlank()),
            scoringPort,
            streamScoringTarget(streamScoring),
            onOff("--grpc-input-log", grpcInputLog),
            labelFields(labelField),
            consolePort);
    if (config.registryToken().isPresent() && serverSecurity.hasAccessPolicy()) {
      throw new StartupException(
          PlatformConfig.TOKEN_ENV
              + " and --access exclude each other: give the token a line in"
              + " the policy");
    }
    Platform platform = Platform.start(config, serverSecurity.security(), Clock.systemUTC());

    CountDownLatch stopped = new CountDownLatch(1);
    Thread hook =
        new Thread(
            () -> {
              out.println("stopping");
              out.flush();
              platform.close();
              out.println("stopped");
              out.flush();
              stopped.countDown();
            },
            "streamscore-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);

    out.printf(
        "streamscore %s up in %.1f s; %s; sources %s; data in %s%s%n",
        Main.version(),
        platform.startupTime().toMillis() / 1000.0,
        config.embeddedKafka() ? "embedded Kafka broker (KRaft)" : "Kafka cluster at " + kafka,
        String.join(", ", platform.spec().sources().keySet()),
        platform.dataDir().root(),
        platform.dataDir().temporary() ? " (deleted on exit)" : "");
    for (Map.Entry<String, String> endpoint : platform.endpoints().byName().entrySet()) {
      out.println(endpoint.getKey() + ": " + endpoint.getValue());
    }
    out.println("ready");
    out.flush();
    // Runs until the shutdown hook has closed everything; the JVM then exits.
    stopped.await();
    return 0;
  }

  /** {@code --stream-scoring}: a model alias, or none. */
  /** An on|off option's value. */
  static boolean onOff(String option, String value) {
    return switch (value) {
      case "on" -> true;
      case "off" -> false;
      default -> throw new StartupException(option + " must be on or off, got '" + value + "'");
    };
  }

  /** {@code --stream-scoring}: a model alias, or none. */
  static Optional<ModelAlias> streamScoringTarget(String streamScoring) {
    if (streamScoring.equals("none")) {
      return Optional.empty();
    }
    try {
      return Optional.of(ModelAlias.parse(streamScoring));
    } catch (IllegalArgumentException e) {
      throw new StartupException("--stream-scoring must be MODEL:ALIAS or none: " + e.getMessage());
    }
  }
}
