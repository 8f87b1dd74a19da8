package dev.streamscore.launcher;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.featurestore.MaterializerMetrics;
import dev.streamscore.ingest.DeadLetterLog;
import dev.streamscore.modelsync.ModelSigning;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.security.ClientSecurity;
import dev.streamscore.scoring.ScoringNode;
import dev.streamscore.scoring.ScoringNodeConfig;
import dev.streamscore.scoring.ScoringServer;
import dev.streamscore.scoring.monitor.MonitorConfig;
import io.grpc.ManagedChannel;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code streamscore scoring-node}: one scoring node — the same one {@code up} embeds — joined to
 * an existing cluster and registry, until SIGINT or SIGTERM. Several nodes each hold a full replica
 * of the feature topics and follow the registry; with {@code --stream-scoring} they share the
 * events' partitions through one Kafka Streams group, each event scored once. Close order: the
 * node, the metrics endpoint, then the data directory.
 */
@Command(
    name = "scoring-node",
    mixinStandardHelpOptions = true,
    description = {
      "Runs one scoring node: feature replica, model sync, gRPC Predict, prediction log.",
      "",
      "With --stream-scoring it also scores every event, sharing the work with the other nodes",
      "that do (one Kafka Streams group).",
      "With --partitions it holds only those partitions of the feature topics; clients route",
      "each entity to a node holding its partition.",
      "Give each node its own --data-dir and --node-id. Prints 'scoring: address' (and",
      "'features: address' with --features-port, 'metrics: url'), then 'ready'."
    })
final class ScoringNodeCommand implements Callable<Integer> {
  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(ScoringNodeCommand.class);

  @CommandLine.Mixin KafkaOption kafkaOption;

  @CommandLine.Mixin StateOptions state;

  @CommandLine.Mixin PartitionsOption partitions;

  @CommandLine.Mixin ServerSecurityOptions serverSecurity;

  @CommandLine.Mixin ClientSecurityOptions registrySecurity;

  @Option(
      names = "--model-signing-key",
      paramLabel = "PEM",
      description =
          "Load only model versions the registry with this Ed25519 public key signed (the"
              + " registry's DIR/signing/ed25519.pub); without it artifacts are checked against"
              + " the registry's sha256 only.")
  Path modelSigningKey;

  @Option(
      names = "--registry",
      paramLabel = "HOST:PORT",
      defaultValue = "127.0.0.1:" + PlatformConfig.DEFAULT_REGISTRY_PORT,
      description = "The model registry (default: ${DEFAULT-VALUE}).")
  String registry;

  @Option(
      names = "--node-id",
      paramLabel = "ID",
      defaultValue = "node-1",
      description =
          "This node's name in predictions, metrics and the registry (default: ${DEFAULT-VALUE}).")
  String nodeId;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      defaultValue = "" + PlatformConfig.DEFAULT_SCORING_PORT,
      description =
          "Port of the scoring service on 127.0.0.1; 0 for any free port (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(
      names = "--features-port",
      paramLabel = "PORT",
      description = "Also serve the FeatureService on this port (0: any free port).")
  Integer featuresPort;

  @Option(
      names = "--metrics-port",
      paramLabel = "PORT",
      defaultValue = "0",
      description =
          "Port of the Prometheus endpoint; 0 for any free port (default: ${DEFAULT-VALUE}).")
  int metricsPort;

  @Option(
      names = "--stream-scoring",
      paramLabel = "MODEL:ALIAS",
      defaultValue = "none",
      description =
          "Score every event with this model alias, sharing the work with the other nodes that"
              + " do; none to turn off (default: ${DEFAULT-VALUE}).")
  String streamScoring;

  @Option(
      names = "--grpc-input-log",
      paramLabel = "on|off",
      defaultValue = "on",
      description =
          "Log each gRPC prediction's input vector, for drift (default: ${DEFAULT-VALUE}).")
  String grpcInputLog;

  @Option(
      names = "--monitor",
      paramLabel = "on|off",
      defaultValue = "on",
      description = "Watch every model's predictions for drift (default: ${DEFAULT-VALUE}).")
  String monitor;

  @Option(
      names = "--console-port",
      paramLabel = "PORT",
      defaultValue = "0",
      description =
          "Port of the web console on 127.0.0.1; 0 for any free port (default: ${DEFAULT-VALUE}).")
  int consolePort;

  @CommandLine.Spec CommandLine.Model.CommandSpec command;

  @Override
  public Integer call() throws InterruptedException {
    FeatureSpec spec = state.spec();
    if (spec.views().isEmpty()) {
      throw new StartupException("the spec declares no views; nothing is scored from it");
    }
    PlatformSecurity security = serverSecurity.security();
    ClientSecurity registryClient = registrySecurity.security();
    ScoringNodeConfig config;
    DataDir dir = DataDir.open(state.dataDir());
    PrometheusRegistry metrics = new PrometheusRegistry();
    HTTPServer endpoint;
    ScoringNode node;
    try {
      config =
          ScoringNodeConfig.of(nodeId, dir.root(), Optional.of(kafkaOption.bootstrap), registry)
              .withRegistryToken(
                  Optional.ofNullable(System.getenv(PlatformConfig.TOKEN_ENV))
                      .filter(t -> !t.isBlank()))
              .withStreamScoring(UpCommand.streamScoringTarget(streamScoring))
              .withPartitions(partitions.held())
              .withGrpcInputLog(
                  UpCommand.onOff("--grpc-input-log", grpcInputLog)
                      ? ScoringServer.InputLog.ON
                      : ScoringServer.InputLog.OFF)
              .withMonitor(
                  UpCommand.onOff("--monitor", monitor)
                      ? Optional.of(MonitorConfig.defaults())
                      : Optional.empty());
      endpoint = Platform.metricsEndpoint(metrics, metricsPort);
    } catch (IllegalArgumentException e) {
      dir.close();
      throw new StartupException(e.getMessage(), e);
    } catch (RuntimeException e) {
      dir.close();
      throw e;
    }
    try {
      ScoringNode.Wiring wiring =
          ScoringNode.Wiring.of(
                  ServerTransport.tcp(security.host(), port, security.server()),
                  metrics,
                  Clock.systemUTC())
              .withRegistryClient(registryClient);
      if (featuresPort != null) {
        wiring =
            wiring.withFeatureService(
                ServerTransport.tcp(security.host(), featuresPort, security.server()));
      }
      if (modelSigningKey != null) {
        wiring = wiring.withModelSigner(Optional.of(ModelSigning.readPublicKey(modelSigningKey)));
      } else {
        log.warn("model signatures are not checked: give --model-signing-key to check them");
      }
      node = ScoringNode.start(config, spec, wiring);
    } catch (RuntimeException e) {
      endpoint.close();
      dir.close();
      throw new StartupException("cannot start the scoring node: " + e.getMessage(), e);
    }
    node.features().materializer().ifPresent(m -> metrics.register(new MaterializerMetrics(m)));
    Map<String, String> addresses = new LinkedHashMap<>();
    addresses.put("scoring", node.address());
    node.featuresAddress().ifPresent(a -> addresses.put("features", a));
    addresses.put("metrics", Platform.metricsUrl(endpoint));
    ManagedChannel channel = registryClient.channel(registry).build();
    Console console;
    DeadLetterLog deadLetters = DeadLetterLog.start(kafkaOption.bootstrap, Clock.systemUTC());
    try {
      console =
          Console.start(
              consolePort,
              new ConsoleApi.Sources(
                  metrics,
                  Optional.of(
                      new RegistryClient(channel, config.registryToken(), nodeId + "-console")),
                  node.monitor(),
                  Optional.of(deadLetters),
                  Clock.systemUTC()));
    } catch (StartupException e) {
      deadLetters.close();
      channel.shutdownNow();
      node.close();
      endpoint.close();
      dir.close();
      throw e;
    }
    addresses.put("console", console.url());
    Serving.untilStopped(
        command.commandLine().getOut(),
        "scoring-node",
        addresses,
        List.<AutoCloseable>of(
            console,
            deadLetters,
            () -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS),
            node,
            endpoint::close,
            dir::close));
    return 0;
  }
}
