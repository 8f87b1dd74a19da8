package dev.streamscore.scoring;

import dev.streamscore.proto.GrpcServers;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.v1.ScoringGrpc;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A scoring node's gRPC server: {@code streamscore.v1.Scoring} ({@link ScoringService}: {@code
 * Predict}, and {@code PredictStream} as {@link PredictStreamCall}s), {@code grpc.health.v1}
 * ({@link NodeHealth}: NOT_SERVING until the node is ready) and server reflection, on the transport
 * its caller chooses.
 *
 * <p>Requests run on a fixed pool; at most {@link Config#maxInFlight()} are scored at once, and
 * more are answered RESOURCE_EXHAUSTED at once rather than queued. A request whose deadline has
 * passed is not scored. Each stream keeps at most {@link Config#streamWindow()} requests in flight.
 * Shadow versions are scored on their own bounded pool, off the request path; what it cannot take
 * is dropped and counted. Every prediction (and shadow prediction) goes to the {@link
 * PredictionSink}, which never blocks.
 *
 * <p>Close order: the health checks, the server (in-flight calls finish, up to 10 s), then the
 * pools.
 */
public final class ScoringServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ScoringServer.class);
  private static final String SERVICE = ScoringGrpc.SERVICE_NAME;

  /**
   * @param nodeId names this node in predictions
   * @param threads request threads
   * @param maxInFlight requests scored at once, at most
   * @param streamWindow requests in flight per stream, at most
   * @param inputLog whether each logged prediction carries its input vector (for the consistency
   *     check; it makes every record larger)
   */
  public record Config(
      String nodeId, int threads, int maxInFlight, int streamWindow, InputLog inputLog) {
    public Config {
      Objects.requireNonNull(inputLog, "inputLog");
      if (nodeId == null || nodeId.isBlank()) {
        throw new IllegalArgumentException("nodeId must not be empty");
      }
      if (threads < 1 || maxInFlight < 1 || streamWindow < 1) {
        throw new IllegalArgumentException("threads, maxInFlight and streamWindow must be >= 1");
      }
    }

    /** Two request threads per core, 1,024 requests in flight, 128 per stream, no inputs logged. */
    public static Config defaults(String nodeId) {
      return new Config(
          nodeId, 2 * Runtime.getRuntime().availableProcessors(), 1_024, 128, InputLog.OFF);
    }

    public Config withInputLog(InputLog inputLog) {
      return new Config(nodeId, threads, maxInFlight, streamWindow, inputLog);
    }
  }

  /** Whether the prediction log gets each prediction's input vector. */
  public enum InputLog {
    OFF,
    ON
  }

  /**
   * What a server scores with.
   *
   * @param scorer scores the requests
   * @param log receives every prediction (and shadow prediction); never blocks
   * @param readiness checked before every request and by the health checks every 200 ms
   * @param services more {@code grpc.health.v1} service names (for example one per model) and
   *     whether each serves; each is SERVING only while the node is ready too. A name that
   *     disappears turns NOT_SERVING. The entry {@code ""}, when given, also gates the overall
   *     status (the node answers requests but reports itself unhealthy, for example while its
   *     features are stale).
   * @param clock the scoring clock: stored features are read as of its time
   */
  public record Scoring(
      Scorer scorer,
      PredictionSink log,
      Supplier<Readiness> readiness,
      Supplier<Map<String, Boolean>> services,
      Clock clock) {
    public Scoring {
      Objects.requireNonNull(scorer, "scorer");
      Objects.requireNonNull(log, "log");
      Objects.requireNonNull(readiness, "readiness");
      Objects.requireNonNull(services, "services");
      Objects.requireNonNull(clock, "clock");
    }
  }

  /** Whether the node can serve now, and if not, why. */
  public record Readiness(boolean ready, String why) {
    public Readiness {
      Objects.requireNonNull(why, "why");
    }

    public static final Readiness READY = new Readiness(true, "");

    public static Readiness notReady(String why) {
      return new Readiness(false, why);
    }
  }

  private final ServerTransport.Listening listening;
  private final ScoringPools pools;
  private final NodeHealth health;

  private ScoringServer(
      ServerTransport.Listening listening, ScoringPools pools, NodeHealth health) {
    this.listening = listening;
    this.pools = pools;
    this.health = health;
  }

  /**
   * Starts serving on {@code transport}.
   *
   * @param metrics where the request, latency and prediction metrics are registered
   * @throws IllegalStateException naming the port when it cannot be bound
   */
  public static ScoringServer start(
      ServerTransport transport, Config config, Scoring scoring, PrometheusRegistry metrics) {
    ScoringPools pools = ScoringPools.of(config.threads());
    NodeHealth health = new NodeHealth(config.nodeId(), scoring.readiness(), scoring.services());
    transport
        .builder()
        .executor(pools.requests())
        .addService(new ScoringService(config, scoring, new ScoringMetrics(metrics), pools))
        .addService(health.service())
        .addService(ProtoReflectionServiceV1.newInstance())
        .intercept(GrpcServers.boundedErrors());
    ServerTransport.Listening server = transport.start(pools::close);
    health.start();
    ScoringServer started = new ScoringServer(server, pools, health);
    LOG.info("scoring service listening on {} (node {})", started.address(), config.nodeId());
    return started;
  }

  /**
   * The health service names of what {@code agent} serves: {@code streamscore.v1.Scoring/MODEL}
   * (serving while any alias of the model serves) and {@code streamscore.v1.Scoring/MODEL:ALIAS}
   * (serving while that alias serves some version), for {@link #start}'s {@code services}.
   */
  public static Map<String, Boolean> modelServices(dev.streamscore.modelsync.SyncAgent agent) {
    Map<String, Boolean> out = new HashMap<>();
    for (var status : agent.statuses()) {
      String model = status.target().model();
      boolean up = agent.serves(model, status.target().alias());
      out.put(SERVICE + "/" + status.target(), up); // model:alias
      out.merge(SERVICE + "/" + model, up, Boolean::logicalOr);
    }
    return out;
  }

  /** {@code host:port}, or the in-process name. */
  public String address() {
    return listening.address();
  }

  @Override
  public void close() {
    health.close();
    listening.stop(Duration.ofSeconds(10));
    pools.close();
    LOG.info("scoring service stopped");
  }
}
