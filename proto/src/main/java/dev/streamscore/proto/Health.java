package dev.streamscore.proto;

import io.grpc.BindableService;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A server's {@code grpc.health.v1} service: the overall status ({@code ""}) and the server's own
 * service name move together, SERVING while nothing is wrong. Whoever knows what is wrong (the
 * platform's supervisor, say) sets it; each change is logged once. NOT_SERVING for good once
 * closed. Thread-safe.
 */
public final class Health implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Health.class);

  private final HealthStatusManager manager = new HealthStatusManager();
  private final String service;
  private final String what;
  private String problem = "";

  /**
   * @param service the server's service name, for example {@code streamscore.v1.Ingest}
   * @param what how log lines name the server ({@code ingest gateway})
   */
  public Health(String service, String what) {
    this.service = service;
    this.what = what;
    manager.setStatus("", ServingStatus.SERVING);
    manager.setStatus(service, ServingStatus.SERVING);
  }

  /** The service to add to the server. */
  public BindableService service() {
    return manager.getHealthService();
  }

  /** Serving when {@code problem} is empty; otherwise NOT_SERVING, and the problem is logged. */
  public synchronized void set(String problem) {
    String now = problem == null ? "" : problem;
    if (now.equals(this.problem)) {
      return;
    }
    boolean wasServing = this.problem.isEmpty();
    this.problem = now;
    ServingStatus status = now.isEmpty() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    manager.setStatus("", status);
    manager.setStatus(service, status);
    if (now.isEmpty()) {
      LOG.info("{}: serving again", what);
    } else if (wasServing) {
      LOG.warn("{}: not serving: {}", what, now);
    }
  }

  /** Empty while serving, else why not. */
  public synchronized String problem() {
    return problem;
  }

  @Override
  public void close() {
    manager.enterTerminalState();
  }
}
