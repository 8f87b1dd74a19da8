package dev.streamscore.scoring;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.featurestore.FeatureNode;
import dev.streamscore.featurestore.FeatureStore;
import dev.streamscore.modelsync.ModelAlias;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.SyncAgent;
import dev.streamscore.modelsync.SyncMetrics;
import dev.streamscore.proto.Resources;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.Supervised;
import dev.streamscore.proto.security.ClientSecurity;
import dev.streamscore.scoring.monitor.MonitorMetrics;
import dev.streamscore.scoring.monitor.PredictionMonitor;
import dev.streamscore.scoring.monitor.RegistryVersions;
import io.grpc.ManagedChannel;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.security.PublicKey;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A scoring node, the one assembly of its parts: a feature-store replica ({@link FeatureNode}, with
 * the FeatureService when asked for), the prediction log, the sync agent following the registry,
 * the scorer, the gRPC scoring server, and stream scoring when configured. {@code up}, the
 * benchmarks and the tests all run this class.
 *
 * <p>Readiness, the one rule: the node answers once its replica has caught up with the feature
 * topics and at least one model alias serves a version (each model answers for itself after that: a
 * broken one is NOT_FOUND or UNAVAILABLE on its own). Its overall health is NOT_SERVING, though it
 * answers, while {@link Wiring#featuresStale()} names a problem (the ETL job is down).
 *
 * <p>Close order, the reverse of start: stream scoring, the scoring server, the sync agent, the
 * registry channel, the prediction log, the feature node. No request is scored once its model or
 * log has closed.
 */
public final class ScoringNode implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ScoringNode.class);

  /**
   * What a node reaches beyond its own process, and how it is served; not values but services, so
   * not part of {@link ScoringNodeConfig}.
   *
   * @param scoring where the scoring server listens
   * @param features where the FeatureService listens, if the node serves one
   * @param metrics where the node's metrics are registered
   * @param predictions where predictions go: empty for the Kafka prediction log (needs {@link
   *     ScoringNodeConfig#kafka()})
   * @param featuresStale why features are stale though the replica is current, or empty
   * @param clock the scoring clock
   */
  public record Wiring(
      ServerTransport scoring,
      Optional<ServerTransport> features,
      PrometheusRegistry metrics,
      Optional<PredictionSink> predictions,
      Supplier<String> featuresStale,
      ClientSecurity registryClient,
      Optional<PublicKey> modelSigner,
      Clock clock) {
    public Wiring {
      for (Object part :
          new Object[] {
            scoring, features, metrics, predictions, featuresStale, registryClient, modelSigner
          }) {
        Objects.requireNonNull(part, "every part of the wiring is given (absent ones as empty)");
      }
      Objects.requireNonNull(clock, "clock");
    }

    /**
     * Scoring on {@code scoring}, no FeatureService, predictions to Kafka, never stale, the
     * registry called in plaintext, its signatures not checked.
     */
    public static Wiring of(ServerTransport scoring, PrometheusRegistry metrics, Clock clock) {
      return new Wiring(
          scoring,
          Optional.empty(),
          metrics,
          Optional.empty(),
          () -> "",
          ClientSecurity.plaintext(),
          Optional.empty(),
          clock);
    }

    public Wiring withFeatureService(ServerTransport features) {
      return new Wiring(
          scoring,
          Optional.of(features),
          metrics,
          predictions,
          featuresStale,
          registryClient,
          modelSigner,
          clock);
    }

    public Wiring withPredictions(PredictionSink sink) {
      return new Wiring(
          scoring,
          features,
          metrics,
          Optional.of(sink),
          featuresStale,
          registryClient,
          modelSigner,
          clock);
    }

    public Wiring withFeaturesStale(Supplier<String> why) {
      return new Wiring(
          scoring, features, metrics, predictions, why, registryClient, modelSigner, clock);
    }

    /** TLS and credentials for the node's calls to the registry. */
    public Wiring withRegistryClient(ClientSecurity security) {
      return new Wiring(
          scoring, features, metrics, predictions, featuresStale, security, modelSigner, clock);
    }

    /** Loads only model versions the registry with this public key signed. */
    public Wiring withModelSigner(Optional<PublicKey> key) {
      return new Wiring(
          scoring, features, metrics, predictions, featuresStale, registryClient, key, clock);
    }
  }

  private final Resources parts = new Resources();
  private final ScoringNodeConfig config;
  private FeatureNode features;
  private SyncAgent agent;
  private Scorer scorer;
  private ScoringServer server;
  private StreamScoringStage streamScoring;
  private PredictionMonitor monitor;

  private ScoringNode(ScoringNodeConfig config) {
    this.config = config;
  }

  /**
   * Starts every part or none: if one fails, those already started are stopped again.
   *
   * @throws IllegalArgumentException when predictions should go to Kafka and no cluster is given
   * @throws IllegalStateException when a server cannot listen
   */
  public static ScoringNode start(ScoringNodeConfig config, FeatureSpec spec, Wiring wiring) {
    if (wiring.predictions().isEmpty() && config.kafka().isEmpty()) {
      throw new IllegalArgumentException(
          "a scoring node without Kafka needs a prediction sink from its caller");
    }
    ScoringNode node = new ScoringNode(config);
    try {
      node.startParts(spec, wiring);
    } catch (RuntimeException e) {
      node.close();
      throw e;
    }
    return node;
  }

  private void startParts(FeatureSpec spec, Wiring wiring) {
    Clock clock = wiring.clock();
    features =
        register(
            "feature node",
            FeatureNode.start(
                new FeatureNode.Config(
                    config.dataDir().resolve("feature-store"), config.kafka(), config.partitions()),
                spec,
                wiring.features(),
                wiring.featuresStale(),
                clock));
    PredictionSink sink =
        wiring
            .predictions()
            .orElseGet(
                () ->
                    register(
                        "prediction log",
                        PredictionLog.start(config.kafka().orElseThrow(), 10_000)));
    ManagedChannel channel = wiring.registryClient().channel(config.registry()).build();
    register("registry channel", () -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    agent =
        register(
            "model sync",
            SyncAgent.start(
                SyncAgent.Config.of(
                        config.nodeId(), config.aliases(), config.dataDir().resolve("models"))
                    .withToken(config.registryToken())
                    .withTrustedSigner(wiring.modelSigner())
                    .withPollInterval(config.registryPoll()),
                channel,
                spec,
                clock));
    wiring.metrics().register(new SyncMetrics(agent));
    config
        .monitor()
        .ifPresent(
            m -> {
              RegistryClient registry =
                  new RegistryClient(channel, config.registryToken(), config.nodeId());
              monitor =
                  register(
                      "prediction monitor",
                      PredictionMonitor.start(
                          config.kafka().orElseThrow(),
                          new RegistryVersions(registry, clock),
                          m,
                          clock));
              wiring.metrics().register(new MonitorMetrics(monitor));
            });
    LogProgress progress =
        features.materializer().<LogProgress>map(m -> m::freshness).orElse(LogProgress.UNKNOWN);
    scorer = new Scorer(features.store(), spec, agent, config.nodeId(), progress);
    server =
        register(
            "scoring server",
            ScoringServer.start(
                wiring.scoring(),
                ScoringServer.Config.defaults(config.nodeId()).withInputLog(config.grpcInputLog()),
                new ScoringServer.Scoring(
                    scorer,
                    sink,
                    this::readiness,
                    () -> {
                      Map<String, Boolean> services =
                          new HashMap<>(ScoringServer.modelServices(agent));
                      services.put("", wiring.featuresStale().get().isEmpty());
                      return services;
                    },
                    clock),
                wiring.metrics()));
    config
        .streamScoring()
        .ifPresent(
            target -> {
              StreamScoring.Config stream = streamConfig(spec, target);
              streamScoring =
                  register(
                      "stream scoring",
                      new StreamScoringStage(
                          stream, agent, scorer, () -> features.behind() == 0, clock));
              // One entity in CONSISTENCY_SAMPLE checked live against its training rows.
              register(
                  "consistency monitor",
                  new ConsistencyMonitor(
                      stream.bootstrapServers(),
                      stream.eventsTopic(),
                      PredictionLog.topic(stream.model()),
                      new ConsistencySampler(
                          spec,
                          stream.source(),
                          stream.model(),
                          CONSISTENCY_SAMPLE,
                          wiring.metrics()),
                      agent,
                      stream.model(),
                      () -> agent.servingRevision(stream.model(), stream.alias()) != 0));
            });
  }

  /** Stream scoring's live consistency check follows one entity in this many. */
  static final int CONSISTENCY_SAMPLE = 16;

  private StreamScoring.Config streamConfig(FeatureSpec spec, ModelAlias target) {
    // The first source that has views: the one whose events the model's features describe.
    String source = spec.views().values().iterator().next().source();
    return new StreamScoring.Config(
        config.kafka().orElseThrow(),
        source,
        target,
        config.dataDir().resolve("stream-scoring"),
        dev.streamscore.etl.TopicNames.DLQ);
  }

  /** The one readiness rule: the replica caught up, and some alias serving. */
  private ScoringServer.Readiness readiness() {
    long behind = features.behind();
    if (behind > 0) {
      return ScoringServer.Readiness.notReady(
          "the feature store is bootstrapping: " + behind + " rows behind");
    }
    if (!agent.servesAny()) {
      return ScoringServer.Readiness.notReady(
          "no model is loaded yet: register one and promote it"
              + " (streamscore models register …; streamscore models promote …)");
    }
    return ScoringServer.Readiness.READY;
  }

  private <T extends AutoCloseable> T register(String name, T resource) {
    return parts.add(name, resource);
  }

  /** The scoring server's {@code host:port}. */
  public String address() {
    return server.address();
  }

  /** The FeatureService's {@code host:port}, when the node serves one. */
  public Optional<String> featuresAddress() {
    return features.address();
  }

  /** The node's replica and its materializer. */
  public FeatureNode features() {
    return features;
  }

  /** The feature store the node scores from. */
  public FeatureStore store() {
    return features.store();
  }

  /** The node's model sync. */
  public SyncAgent agent() {
    return agent;
  }

  /** The node's scorer, shared by its gRPC and stream paths. */
  public Scorer scorer() {
    return scorer;
  }

  /** The node's prediction monitor, when configured. */
  public Optional<PredictionMonitor> monitor() {
    return Optional.ofNullable(monitor);
  }

  /** Stream scoring's state, when configured: running, waiting for its model, or failed. */
  public Optional<Supervised.Status> streamScoringStatus() {
    return Optional.ofNullable(streamScoring).map(StreamScoringStage::status);
  }

  /** Events stream scoring has scored and found unscorable; zeros when it is not running. */
  public StreamScoring.Counts streamScoringCounts() {
    return streamScoring == null ? new StreamScoring.Counts(0, 0) : streamScoring.counts();
  }

  /** Stream scoring's settings (its topics and application id), when configured. */
  public Optional<StreamScoring.Config> streamScoringConfig() {
    return Optional.ofNullable(streamScoring).map(StreamScoringStage::config);
  }

  /** Stops every part in reverse start order; a failing part does not stop the others. */
  @Override
  public void close() {
    parts.close();
  }
}
