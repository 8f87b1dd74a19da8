package dev.streamscore.featurestore;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.proto.ServerTransport;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
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
   */
  public record Config(Path storeDir, Optional<String> kafka) {
    public Config {
      Objects.requireNonNull(storeDir, "storeDir");
      Objects.requireNonNull(kafka, "kafka");
    }
  }

  private final FeatureStore store;
  private final Materializer materializer;
  private final FeatureServer server;
  private final ScheduledExecutorService health;

  private FeatureNode(
      FeatureStore store,
      Materializer materializer,
      FeatureServer server,
      ScheduledExecutorService health) {
    this.store = store;
    this.materializer = materializer;
    this.server = server;
    this.health = health;
  }

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
    FeatureStore store = FeatureStore.open(config.storeDir(), spec);
    Materializer materializer = null;
    FeatureServer server = null;
    try {
      if (config.kafka().isPresent()) {
        materializer =
            Materializer.start(
                config.kafka().get(),
                spec.views().values().stream().map(ViewSpec::topic).toList(),
                store,
                clock);
      }
      Materializer m = materializer;
      if (service.isPresent()) {
        server =
            FeatureServer.start(
                service.get(), store, spec, () -> m == null ? 0 : m.bootstrapLag(), clock);
      }
    } catch (RuntimeException e) {
      if (materializer != null) {
        materializer.close();
      }
      store.close();
      throw e;
    }
    ScheduledExecutorService checker = null;
    if (server != null) {
      checker =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "feature-node-health");
                t.setDaemon(true);
                return t;
              });
    }
    FeatureNode node = new FeatureNode(store, materializer, server, checker);
    if (checker != null) {
      checker.scheduleWithFixedDelay(
          () -> node.checkHealth(upstreamProblem), 0, 1, TimeUnit.SECONDS);
    }
    return node;
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

  @Override
  public void close() {
    if (health != null) {
      health.shutdownNow();
    }
    if (server != null) {
      server.close();
    }
    if (materializer != null) {
      materializer.close();
    }
    store.close();
  }
}
