package dev.streamscore.scoring;

import dev.streamscore.modelsync.SyncAgent;
import dev.streamscore.proto.Supervised;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A scoring node's stream scoring: started once the node serves the model alias, so a platform
 * without a registered model waits quietly instead of holding events back. Close order: the waiting
 * thread, then the Kafka Streams application if it started.
 */
final class StreamScoringStage implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StreamScoringStage.class);

  private final Thread starter;
  private volatile Supervised<StreamScoring> running;
  private volatile String startFailure;
  private volatile boolean closed;
  private final String waitingFor;
  private final StreamScoring.Config config;

  StreamScoringStage(
      StreamScoring.Config config,
      SyncAgent agent,
      Scorer scorer,
      BooleanSupplier storeReady,
      Clock clock) {
    this.config = config;
    this.waitingFor = "waiting for " + config.model() + "/" + config.alias() + " to have a version";
    this.starter =
        new Thread(
            () -> {
              while (!closed && agent.servingRevision(config.model(), config.alias()) == 0) {
                try {
                  // Polled: the agent has no listener API, and a quarter second is plenty here.
                  TimeUnit.MILLISECONDS.sleep(250);
                } catch (InterruptedException e) {
                  return;
                }
              }
              synchronized (this) {
                if (closed) {
                  return;
                }
                try {
                  // Kafka Streams replaces a failed thread itself; should the whole application
                  // stop, it is started again.
                  running =
                      new Supervised<>(
                          "stream-scoring",
                          () -> StreamScoring.start(config, scorer, storeReady, clock),
                          s -> s.running() ? null : "its Kafka Streams application stopped",
                          clock);
                } catch (Exception e) {
                  startFailure = e.getMessage();
                  LOG.error("stream scoring could not start: {}", e.getMessage());
                }
              }
            },
            "stream-scoring-starter");
    starter.setDaemon(true);
    starter.start();
  }

  StreamScoring.Config config() {
    return config;
  }

  /** Running, waiting for its model, or failed with the reason. */
  Supervised.Status status() {
    Supervised<StreamScoring> s = running;
    if (startFailure != null) {
      return new Supervised.Status("stream-scoring", Supervised.State.FAILED, startFailure, 0);
    }
    if (s == null) {
      return new Supervised.Status(
          "stream-scoring",
          closed ? Supervised.State.STOPPED : Supervised.State.WAITING,
          closed ? "" : waitingFor,
          0);
    }
    return s.status();
  }

  /** Events scored and unscorable so far; zeros before it starts. */
  StreamScoring.Counts counts() {
    Supervised<StreamScoring> s = running;
    return s == null ? new StreamScoring.Counts(0, 0) : s.current().counts();
  }

  @Override
  public void close() throws Exception {
    closed = true;
    starter.interrupt();
    starter.join(TimeUnit.SECONDS.toMillis(90));
    synchronized (this) {
      if (running != null) {
        running.close();
      }
    }
  }
}
