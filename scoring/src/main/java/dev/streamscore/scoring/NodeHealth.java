package dev.streamscore.scoring;

import dev.streamscore.proto.Daemons;
import dev.streamscore.proto.v1.ScoringGrpc;
import io.grpc.BindableService;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A scoring node's {@code grpc.health.v1} statuses, brought up to date every 200 ms: the overall
 * status and {@code streamscore.v1.Scoring} follow the node's readiness (and the {@code ""} entry
 * of the named services, when given); every other named service is SERVING while it serves and the
 * node is ready. A failing check turns the node NOT_SERVING: it must never look healthy because its
 * health stopped updating. Close stops the checks.
 */
final class NodeHealth implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NodeHealth.class);
  private static final String SERVICE = ScoringGrpc.SERVICE_NAME;

  private final HealthStatusManager manager = new HealthStatusManager();
  private final ScheduledExecutorService checker;
  private final Supplier<ScoringServer.Readiness> readiness;
  private final Supplier<Map<String, Boolean>> services;
  private final String nodeId;
  private final Map<String, Boolean> published = new HashMap<>();
  private boolean serving;

  NodeHealth(
      String nodeId,
      Supplier<ScoringServer.Readiness> readiness,
      Supplier<Map<String, Boolean>> services) {
    this.nodeId = nodeId;
    this.readiness = readiness;
    this.services = services;
    manager.setStatus("", ServingStatus.NOT_SERVING);
    manager.setStatus(SERVICE, ServingStatus.NOT_SERVING);
    checker = Daemons.scheduler("scoring-health");
  }

  BindableService service() {
    return manager.getHealthService();
  }

  /** Starts the checks; the first runs at once. */
  void start() {
    checker.scheduleWithFixedDelay(this::check, 0, 200, TimeUnit.MILLISECONDS);
  }

  private void check() {
    try {
      ScoringServer.Readiness ready = readiness.get();
      Map<String, Boolean> named = services.get();
      boolean now = ready.ready() && named.getOrDefault("", true);
      if (serving != now) {
        serving = now;
        setNode(now);
        LOG.info(
            "scoring node {}: {}", nodeId, now ? "serving" : "not serving (" + ready.why() + ")");
      }
      Map<String, Boolean> next = new HashMap<>();
      named.forEach(
          (name, up) -> {
            if (!name.isEmpty()) {
              next.put(name, up && ready.ready());
            }
          });
      published.keySet().stream()
          .filter(name -> !next.containsKey(name))
          .forEach(name -> next.put(name, false));
      next.forEach(
          (name, up) -> {
            if (!up.equals(published.put(name, up))) {
              manager.setStatus(name, up ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
            }
          });
    } catch (RuntimeException e) {
      if (serving) {
        serving = false;
        setNode(false);
      }
      LOG.warn("scoring node {}: health check failed: {}", nodeId, e.toString());
    }
  }

  private void setNode(boolean up) {
    ServingStatus status = up ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    manager.setStatus("", status);
    manager.setStatus(SERVICE, status);
  }

  @Override
  public void close() {
    checker.shutdownNow();
  }
}
