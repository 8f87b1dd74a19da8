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
 * without a registered model waits quietly instead of holding events back. A start that fails is
 * tried again with a backoff doubling from 1 s to 60 s, never given up: after a SIGKILL, restoring
 * the state stores on a busy machine can outlast one start's bound. Close order: the waiting
 * thread, then the Kafka Streams application if it started.
 */
final class StreamScoringStage implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StreamScoringStage.class);
  private static final long FIRST_BACKOFF_MS = 1_000;
  private static final long MAX_BACKOFF_MS = 60_000;

  private final Thread starter;
  private volatile Supervised<StreamScoring> running;
  private volatile String startFailure;
  private volatile boolean closed;
  private final String waitingFor;
  private final StreamScoring.Config config;
  private final Supervised.Starter<StreamScoring> start;
  private final Clock clock;
  private volatile long attempts;

  StreamScoringStage(
      StreamScoring.Config config,
      SyncAgent agent,
      Scorer scorer,
      BooleanSupplier storeReady,
      Clock clock) {
    this(config, agent, () -> StreamScoring.start(config, scorer, storeReady, clock), clock);
  }

  /** With the start of one attempt given, so a test can make attempts fail. */
  StreamScoringStage(
      StreamScoring.Config config,
      SyncAgent agent,
      Supervised.Starter<StreamScoring> start,
      Clock clock) {
    this.config = config;
    this.start = start;
    this.clock = clock;
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
              long backoffMs = FIRST_BACKOFF_MS;
              while (!closed && !startOnce()) {
                LOG.warn(
                    "stream scoring could not start: {}; trying again in {} s",
                    startFailure,
                    backoffMs / 1000);
                try {
                  TimeUnit.MILLISECONDS.sleep(backoffMs);
                } catch (InterruptedException e) {
                  return;
                }
                backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
              }
            },
            "stream-scoring-starter");
    starter.setDaemon(true);
    starter.start();
  }

  /**
   * One attempt: true once the application runs under supervision (or the stage is closed), false
   * with {@link #startFailure} set when it could not start — a restore that outlasts the start
   * bound on a busy machine, a broker not reachable yet — so that the starter tries again.
   */
  private synchronized boolean startOnce() {
    if (closed) {
      return true;
    }
    try {
      // Kafka Streams replaces a failed thread itself; should the whole application stop, it is
      // started again.
      running =
          new Supervised<>(
              "stream-scoring",
              start,
              s -> s.running() ? null : "its Kafka Streams application stopped",
              clock);
      startFailure = null;
      return true;
    } catch (Exception e) {
      startFailure = e.getMessage() == null ? e.toString() : e.getMessage();
      attempts++;
      return false;
    }
  }

  StreamScoring.Config config() {
    return config;
  }

  /** Running, waiting for its model, or trying again after a failed start (with the reason). */
  Supervised.Status status() {
    Supervised<StreamScoring> s = running;
    String failure = startFailure;
    if (s == null && failure != null) {
      // Not healthy, and not given up on: the starter tries again.
      return new Supervised.Status(
          "stream-scoring",
          closed ? Supervised.State.STOPPED : Supervised.State.RESTARTING,
          "could not start: " + failure,
          attempts);
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
