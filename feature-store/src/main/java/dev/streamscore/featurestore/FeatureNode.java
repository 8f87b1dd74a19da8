package dev.streamscore.featurestore;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.proto.Daemons;
import dev.streamscore.proto.PartitionSet;
import dev.streamscore.proto.Resources;
import dev.streamscore.proto.ServerTransport;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A feature-store node: a RocksDB replica of every {@code features.<view>} topic, the materializer
 * that fills it, and (when given a transport) the gRPC {@code FeatureService} over it. The one
 * assembly of these parts: {@code streamscore feature-store}, {@code up} and every scoring node are
 * built from it.
 *
 * <p>Health: the service is NOT_SERVING while the replica bootstraps, or while {@code
 * upstreamProblem} names one (the platform says so when the ETL job is down and features no longer
 * move); checked every second.
 *
 * <p>Close order: the health check, the service, the materializer, the store.
 */
public final class FeatureNode implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FeatureNode.class);

  /**
   * @param storeDir the replica's RocksDB directory; kept across restarts, it resumes where it
   *     stopped
   * @param kafka the cluster holding the feature topics; empty when the caller writes the store
   *     itself (benchmarks, tests): the replica then counts as caught up
   * @param partitions the partitions of the feature topics to hold; empty for all of them
   */
  public record Config(Path storeDir, Optional<String> kafka, Optional<PartitionSet> partitions) {
    public Config {
      Objects.requireNonNull(storeDir, "storeDir");
      Objects.requireNonNull(kafka, "kafka");
      Objects.requireNonNull(partitions, "partitions");
      if (partitions.isPresent() && kafka.isEmpty()) {
        throw new IllegalArgumentException("a replica of some partitions reads them from Kafka");
      }
    }

    /** A full replica. */
    public Config(Path storeDir, Optional<String> kafka) {
      this(storeDir, kafka, Optional.empty());
    }
  }

  private final Resources parts = new Resources();
  private FeatureStore store;
  private Materializer materializer;
  private FeatureServer server;

  private FeatureNode() {}

  /**
   * Opens the replica, starts following the feature topics, and serves it on {@code service} when
   * given. All or nothing: what started is stopped again when a later part fails.
   *
   * @param upstreamProblem why features are stale though the replica is current, or empty
   * @throws FeatureStoreException when the store cannot be opened
   * @throws IllegalStateException when the service cannot listen
   */
  public static FeatureNode start(
      Config config,
      FeatureSpec spec,
      Optional<ServerTransport> service,
      Supplier<String> upstreamProblem,
      Clock clock) {
    if (spec.views().isEmpty()) {
      throw new IllegalArgumentException("the spec declares no views; there is nothing to store");
    }
    FeatureNode node = new FeatureNode();
    try {
      node.startParts(config, spec, service, upstreamProblem, clock);
    } catch (RuntimeException e) {
      node.close();
      throw e;
    }
    return node;
  }

  private void startParts(
      Config config,
      FeatureSpec spec,
      Optional<ServerTransport> service,
      Supplier<String> upstreamProblem,
      Clock clock) {
    store = parts.add("feature store", FeatureStore.open(config.storeDir(), spec));
    if (config.kafka().isPresent()) {
      materializer =
          parts.add(
              "materializer",
              Materializer.start(
                  config.kafka().get(),
                  spec.views().values().stream().map(ViewSpec::topic).toList(),
                  config.partitions(),
                  store,
                  clock));
    }
    if (service.isPresent()) {
      server =
          parts.add(
              "feature service",
              FeatureServer.start(service.get(), store, spec, this::behind, clock));
      ScheduledExecutorService checker = Daemons.scheduler("feature-node-health");
      parts.add("feature health checks", checker::shutdownNow);
      checker.scheduleWithFixedDelay(() -> checkHealth(upstreamProblem), 0, 1, TimeUnit.SECONDS);
    }
  }

  private void checkHealth(Supplier<String> upstreamProblem) {
    try {
      long behind = behind();
      server
          .health()
          .set(
              behind > 0
                  ? "the feature store is bootstrapping: " + behind + " rows behind"
                  : upstreamProblem.get());
    } catch (RuntimeException e) {
      server.health().set("its health check failed: " + e);
      LOG.warn("feature node health check failed: {}", e.toString());
    }
  }

  /** The replica. */
  public FeatureStore store() {
    return store;
  }

  /** The materializer, when the replica follows Kafka. */
  public Optional<Materializer> materializer() {
    return Optional.ofNullable(materializer);
  }

  /** Rows still to read before the replica has caught up with its start; 0 once it has. */
  public long behind() {
    return materializer == null ? 0 : materializer.bootstrapLag();
  }

  /** Why the replica no longer follows its topics, or empty. */
  public String problem() {
    Throwable failed = materializer == null ? null : materializer.failure();
    return failed == null ? "" : String.valueOf(failed.getMessage());
  }

  /** The FeatureService's {@code host:port}, when it serves one. */
  public Optional<String> address() {
    return server == null ? Optional.empty() : Optional.of(server.address());
  }

  /** Stops the health checks, the service, the materializer, then the store. */
  @Override
  public void close() {
    parts.close();
  }
}
