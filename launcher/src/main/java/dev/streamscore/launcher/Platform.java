package dev.streamscore.launcher;

import com.sun.net.httpserver.HttpsConfigurator;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.SpecException;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.featurestore.FeatureStore;
import dev.streamscore.featurestore.FeatureTopics;
import dev.streamscore.featurestore.Materializer;
import dev.streamscore.featurestore.MaterializerMetrics;
import dev.streamscore.ingest.DeadLetterLog;
import dev.streamscore.ingest.IngestCounters;
import dev.streamscore.ingest.IngestGateway;
import dev.streamscore.ingest.IngestGatewayConfig;
import dev.streamscore.ingest.IngestGatewayException;
import dev.streamscore.ingest.IngestMetrics;
import dev.streamscore.ingest.Validator;
import dev.streamscore.ingest.ValidatorConfig;
import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.kafka.embedded.EmbeddedKafkaException;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.RegistryServer;
import dev.streamscore.proto.Daemons;
import dev.streamscore.proto.Resources;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.Supervised;
import dev.streamscore.scoring.ScoringNode;
import dev.streamscore.scoring.ScoringNodeConfig;
import dev.streamscore.scoring.ScoringServer;
import dev.streamscore.scoring.monitor.MonitorConfig;
import io.grpc.ManagedChannel;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.BindException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running platform: the parts {@code streamscore up} starts, in dependency order, and stops in
 * reverse order: the Kafka broker (embedded or external), the validator of every declared source,
 * the gRPC ingest gateway, the feature-store replica and its materializer, the model registry, the
 * scoring node (prediction log, model sync, scoring service), the ETL engine's job (a child JVM),
 * then the Prometheus metrics endpoint.
 *
 * <p>Close order: every part in reverse start order, then the data directory (which releases its
 * lock and deletes itself if temporary).
 */
final class Platform implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Platform.class);

  private final DataDir dataDir;
  private final Resources parts = new Resources();
  private String ingestAddress;
  private String registryAddress;
  private String etlDescription;
  private String streamScoringRoute;
  private String metricsUrl;
  private Console console;
  private final Duration startupTime;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final PrometheusRegistry metrics = new PrometheusRegistry();
  private final IngestMetrics ingestMetrics = new IngestMetrics();
  private String kafkaBootstrap;
  private FeatureSpec spec;
  private ScoringNode node;
  private Stages stages;
  private Supervised<Validator> validator;
  private volatile Supervised<EtlProcess> etl;
  private IngestGateway gateway;

  private static final String LOOPBACK = PlatformSecurity.LOOPBACK;
  private final PlatformSecurity security;
  private java.security.PublicKey registrySigningKey;

  /** How this platform's scoring node names itself in predictions and to the registry. */
  private static final String NODE_ID = "local";

  private Platform(PlatformConfig config, PlatformSecurity security, Clock clock) {
    Instant began = clock.instant();
    this.security = security;
    this.dataDir = DataDir.open(config.dataDir());
    try {
      this.spec = loadSpec(config.spec());
      startKafka(config);
      startValidator(clock);
      startGateway(config, clock);
      startRegistry(config, clock);
      startScoringNode(config, clock);
      startEtl(config, clock);
      metrics.register(ingestMetrics);
      startMetrics(config);
      startConsole(config, clock);
      startHealth();
    } catch (RuntimeException e) {
      close();
      throw e;
    }
    this.startupTime = Duration.between(began, clock.instant());
  }

  /**
   * Starts every part or none: if one fails, those already started are stopped again.
   *
   * @throws StartupException naming what to change
   */
  static Platform start(PlatformConfig config, Clock clock) {
    return start(config, PlatformSecurity.open(), clock);
  }

  /**
   * Starts every part or none, its gRPC servers secured as {@code security} says.
   *
   * @throws StartupException naming what to change
   */
  static Platform start(PlatformConfig config, PlatformSecurity security, Clock clock) {
    return new Platform(config, security, clock);
  }

  private void startKafka(PlatformConfig config) {
    if (config.embeddedKafka()) {
      EmbeddedKafkaConfig kafkaConfig =
          EmbeddedKafkaConfig.defaults()
              .withPort(config.kafkaPort())
              .withLogDir(dataDir.resolve("kafka"));
      try {
        EmbeddedKafka kafka = EmbeddedKafka.start(kafkaConfig);
        register("kafka broker", kafka);
        kafkaBootstrap = kafka.bootstrapServers();
      } catch (EmbeddedKafkaException e) {
        throw new StartupException("cannot start the embedded Kafka broker: " + e.getMessage(), e);
      }
    } else {
      kafkaBootstrap = config.externalKafka().orElseThrow();
      awaitExternalKafka(kafkaBootstrap, config.connectTimeout());
    }
    stages = new Stages(kafkaBootstrap);
    register("stage metrics", stages);
    metrics.register(stages);
  }

  /** The spec file, or the shipped payments spec; an invalid one stops start-up in one line. */
  static FeatureSpec loadSpec(Optional<java.nio.file.Path> file) {
    try {
      return file.map(FeatureSpec::load).orElseGet(FeatureSpec::shippedPayments);
    } catch (SpecException e) {
      throw new StartupException("invalid spec: " + e.getMessage(), e);
    }
  }

  private void startValidator(Clock clock) {
    IngestCounters counters = new IngestCounters();
    ValidatorConfig config = ValidatorConfig.defaults(kafkaBootstrap, dataDir.resolve("validator"));
    try {
      validator =
          new Supervised<>(
              "validator",
              () -> Validator.start(config, spec, clock, counters),
              Validator::stopReason,
              clock);
    } catch (Exception e) {
      throw new StartupException("cannot start the validator: " + e.getMessage(), e);
    }
    register("validator", validator);
    ingestMetrics.validator(validator.current());
    stages.add("validator", validator::status, config.applicationId(), TopicNames::isRaw);
  }

  private void startGateway(PlatformConfig config, Clock clock) {
    try {
      IngestGateway gateway =
          IngestGateway.start(
              ServerTransport.tcp(security.host(), config.ingestPort(), security.server()),
              IngestGatewayConfig.defaults(kafkaBootstrap).withPort(config.ingestPort()),
              spec,
              clock);
      register("ingest gateway", gateway);
      this.gateway = gateway;
      ingestMetrics.gateway(gateway);
      ingestAddress = gateway.address();
    } catch (IngestGatewayException e) {
      throw new StartupException("cannot start the ingest gateway: " + e.getMessage(), e);
    }
  }

  private void startEtl(PlatformConfig config, Clock clock) {
    if (config.engine() == PlatformConfig.Engine.NONE || spec.views().isEmpty()) {
      return;
    }
    boolean spark = config.engine() == PlatformConfig.Engine.SPARK;
    Supervised.Starter<EtlProcess> start =
        () ->
            spark
                ? EtlProcess.startSpark(
                    kafkaBootstrap,
                    dataDir.resolve("etl-spark"),
                    config.spec(),
                    List.of(),
                    Duration.ofSeconds(180))
                : EtlProcess.startFlink(
                    kafkaBootstrap,
                    dataDir.resolve("etl-flink"),
                    config.spec(),
                    List.of(),
                    Duration.ofSeconds(180));
    Supervised<EtlProcess> job;
    try {
      job = new Supervised<>("etl", start, p -> p.exitReason().orElse(null), clock);
    } catch (StartupException e) {
      throw e;
    } catch (Exception e) {
      throw new StartupException(e.getMessage(), e);
    }
    register(spark ? "Spark job" : "Flink job", job);
    this.etl = job;
    // Flink reports its source's offsets under its group at each checkpoint; Spark keeps its own.
    stages.add("etl", job::status, spark ? null : "streamscore-etl-flink", TopicNames::isEvents);
    etlDescription = job.current().describe();
    metrics.register(
        new EtlCounts(
            spark ? "spark" : "flink",
            () -> job.current() == null ? Map.of() : job.current().counts(),
            clock));
  }

  /** Why the features do not move, or empty: the ETL job is supervised and not running. */
  private String featureProblem() {
    Supervised<EtlProcess> job = etl;
    if (job == null || job.running()) {
      return "";
    }
    Supervised.Status s = job.status();
    return "features are stale: the ETL job is " + s.state() + " (" + s.reason() + ")";
  }

  /**
   * Every second: each stage's lag, and the ingest gateway's health: NOT_SERVING while the
   * validator is down (events are accepted but not validated). The scoring node judges its own
   * health, told by {@link #featureProblem()} when the ETL job is down.
   */
  private void startHealth() {
    java.util.concurrent.ScheduledExecutorService loop = Daemons.scheduler("platform-health");
    loop.scheduleWithFixedDelay(
        () -> {
          try {
            stages.refreshLag();
            if (gateway != null) {
              Supervised.Status v = validator.status();
              gateway
                  .health()
                  .set(
                      validator.running()
                          ? ""
                          : "events are accepted but not validated: the validator is "
                              + v.state()
                              + " ("
                              + v.reason()
                              + ")");
            }
          } catch (RuntimeException e) {
            LOG.warn("health check failed: {}", e.toString());
          }
        },
        0,
        1,
        TimeUnit.SECONDS);
    register("health checks", loop::shutdownNow);
  }

  /** The model registry, its artifacts and journal under {@code DATA_DIR/registry}. */
  private void startRegistry(PlatformConfig config, Clock clock) {
    try {
      RegistryServer registry =
          RegistryServer.start(
              ServerTransport.tcp(security.host(), config.registryPort(), security.server()),
              dataDir.resolve("registry"),
              config.registryToken(),
              clock);
      register("model registry", registry);
      registryAddress = registry.address();
      registrySigningKey = registry.signingKey();
    } catch (RuntimeException e) {
      throw new StartupException("cannot start the model registry: " + e.getMessage(), e);
    }
  }

  /**
   * The scoring node: the feature-store replica (serving the FeatureService too), the prediction
   * log, the sync agent following every alias in the registry, the scoring service, and stream
   * scoring when asked for. None when the spec declares no views: nothing to score from.
   */
  private void startScoringNode(PlatformConfig config, Clock clock) {
    if (spec.views().isEmpty()) {
      return;
    }
    createFeatureTopics();
    ScoringNodeConfig nodeConfig =
        ScoringNodeConfig.of(
                NODE_ID,
                dataDir.root(),
                Optional.of(kafkaBootstrap),
                security.selfTarget(registryAddress))
            .withRegistryToken(config.registryToken())
            .withStreamScoring(config.streamScoring())
            .withGrpcInputLog(
                config.grpcInputLog() ? ScoringServer.InputLog.ON : ScoringServer.InputLog.OFF)
            .withMonitor(
                Optional.of(
                    MonitorConfig.defaults()
                        .withLabels(Duration.ofHours(1), config.labelFields())));
    try {
      node =
          ScoringNode.start(
              nodeConfig,
              spec,
              ScoringNode.Wiring.of(
                      ServerTransport.tcp(security.host(), config.scoringPort(), security.server()),
                      metrics,
                      clock)
                  .withFeatureService(
                      ServerTransport.tcp(
                          security.host(), config.featuresPort(), security.server()))
                  .withRegistryClient(security.self())
                  // The registry signs every version; the node loads only what it signed.
                  .withModelSigner(Optional.of(registrySigningKey))
                  .withFeaturesStale(this::featureProblem));
    } catch (RuntimeException e) {
      throw new StartupException("cannot start the scoring node: " + e.getMessage(), e);
    }
    register("scoring node", node);
    Materializer materializer = node.features().materializer().orElseThrow();
    metrics.register(new MaterializerMetrics(materializer));
    stages.add(
        "materializer",
        () -> {
          String problem = node.features().problem();
          return new Supervised.Status(
              "materializer",
              problem.isEmpty() ? Supervised.State.RUNNING : Supervised.State.FAILED,
              problem,
              0);
        },
        null,
        t -> false);
    node.streamScoringConfig()
        .ifPresent(
            stream -> {
              stages.add(
                  "stream-scoring",
                  () -> node.streamScoringStatus().orElseThrow(),
                  stream.applicationId(),
                  t -> t.equals(stream.eventsTopic()));
              streamScoringRoute =
                  stream.eventsTopic()
                      + " -> "
                      + TopicNames.predictions(stream.model())
                      + " with "
                      + stream.model()
                      + "/"
                      + stream.alias()
                      + " (starts once it has a version)";
            });
  }

  /** The scoring node, or null when the spec declares no views. */
  ScoringNode node() {
    return node;
  }

  /** The node's feature-store replica, or null when the spec declares no views. */
  FeatureStore featureStore() {
    return node == null ? null : node.store();
  }

  /** The materializer filling {@link #featureStore()}, or null. */
  Materializer materializer() {
    return node == null ? null : node.features().materializer().orElseThrow();
  }

  private void createFeatureTopics() {
    try (Admin admin = Admin.create(KafkaClients.config(kafkaBootstrap))) {
      FeatureTopics.ensure(admin, spec, Duration.ofSeconds(60));
    } catch (RuntimeException e) {
      throw new StartupException("cannot create the feature topics: " + e.getMessage(), e);
    }
  }

  /** The web console over this platform's metrics, registry and prediction monitor. */
  private void startConsole(PlatformConfig config, Clock clock) {
    ManagedChannel channel = security.self().channel(security.selfTarget(registryAddress)).build();
    register(
        "console's registry channel",
        () -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    DeadLetterLog deadLetters = DeadLetterLog.start(kafkaBootstrap, clock);
    register("dead-letter log", deadLetters);
    console =
        Console.start(
            config.consolePort(),
            new ConsoleApi.Sources(
                metrics,
                Optional.of(new RegistryClient(channel, config.registryToken(), "console")),
                node == null ? Optional.empty() : node.monitor(),
                Optional.of(deadLetters),
                clock),
            security.https());
    register("console", console);
  }

  private void startMetrics(PlatformConfig config) {
    HTTPServer server = metricsEndpoint(metrics, config.metricsPort(), security.https());
    register("metrics endpoint", server);
    metricsUrl = metricsUrl(server, security.https().isPresent());
  }

  /**
   * A Prometheus endpoint for {@code registry} on 127.0.0.1.
   *
   * @throws StartupException naming the port when it is taken
   */
  static HTTPServer metricsEndpoint(PrometheusRegistry registry, int port) {
    return metricsEndpoint(registry, port, Optional.empty());
  }

  /**
   * A Prometheus endpoint for {@code registry} on 127.0.0.1, over HTTPS when {@code https} is
   * given.
   *
   * @throws StartupException naming the port when it is taken
   */
  static HTTPServer metricsEndpoint(
      PrometheusRegistry registry, int port, Optional<HttpsConfigurator> https) {
    try {
      HTTPServer.Builder builder = HTTPServer.builder().hostname(LOOPBACK).port(port);
      https.ifPresent(builder::httpsConfigurator);
      return builder.registry(registry).buildAndStart();
    } catch (IOException e) {
      throw new StartupException(
          "cannot start the metrics endpoint: "
              + (e instanceof BindException || e.getCause() instanceof BindException
                  ? "port " + port + " on " + LOOPBACK + " is in use; choose another port or 0"
                  : e.getMessage()),
          e);
    }
  }

  /** {@code http://127.0.0.1:PORT/metrics}. */
  static String metricsUrl(HTTPServer server) {
    return metricsUrl(server, false);
  }

  /** {@code http://127.0.0.1:PORT/metrics}, or {@code https://} when it serves HTTPS. */
  static String metricsUrl(HTTPServer server, boolean https) {
    return (https ? "https" : "http") + "://" + LOOPBACK + ":" + server.getPort() + "/metrics";
  }

  /** The spec in force. */
  FeatureSpec spec() {
    return spec;
  }

  private static void awaitExternalKafka(String bootstrap, Duration timeout) {
    Map<String, Object> props =
        KafkaClients.config(
            bootstrap,
            Map.of(
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                (int) timeout.toMillis(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
                (int) timeout.toMillis()));
    try (Admin admin = Admin.create(props)) {
      String clusterId =
          admin.describeCluster().clusterId().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      LOG.info("Using Kafka cluster {} at {}", clusterId, bootstrap);
    } catch (TimeoutException | ExecutionException e) {
      if (e.getCause() instanceof org.apache.kafka.common.errors.AuthenticationException refused) {
        throw new StartupException(
            "Kafka at "
                + bootstrap
                + " refused us: "
                + refused.getMessage()
                + "; check --kafka-config");
      }
      throw new StartupException(
          "Kafka at "
              + bootstrap
              + " did not answer within "
              + timeout.toSeconds()
              + " s; check --kafka, that the cluster is up, and --kafka-config if it is secured");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StartupException("interrupted while connecting to Kafka at " + bootstrap, e);
    }
  }

  private void register(String name, AutoCloseable resource) {
    parts.add(name, resource);
  }

  /** Where the running parts answer. */
  Endpoints endpoints() {
    return new Endpoints(
        kafkaBootstrap,
        ingestAddress,
        node == null ? Optional.empty() : node.featuresAddress(),
        registryAddress,
        node == null ? Optional.empty() : Optional.of(node.address()),
        Optional.ofNullable(streamScoringRoute),
        Optional.ofNullable(etlDescription),
        metricsUrl,
        Optional.ofNullable(console).map(Console::url));
  }

  DataDir dataDir() {
    return dataDir;
  }

  Duration startupTime() {
    return startupTime;
  }

  /** Stops every part in reverse start order; a failing part does not stop the others. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    parts.close();
    dataDir.close();
  }
}
