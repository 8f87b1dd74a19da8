package dev.streamscore.launcher;

import dev.streamscore.modelsync.SyncAgent;
import dev.streamscore.scoring.Scorer;
import dev.streamscore.scoring.StreamScoring;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stream scoring as a part of {@code up}: started once the node serves the model alias, so a
 * platform without a registered model waits quietly instead of holding events back. Close order:
 * the waiting thread, then the Kafka Streams application if it started.
 */
final class StreamScoringPart implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StreamScoringPart.class);

  private final Thread starter;
  private volatile StreamScoring running;
  private volatile boolean closed;

  StreamScoringPart(
      StreamScoring.Config config,
      SyncAgent agent,
      Scorer scorer,
      BooleanSupplier storeReady,
      Clock clock) {
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
                  running = StreamScoring.start(config, scorer, storeReady, clock);
                } catch (RuntimeException e) {
                  LOG.error("stream scoring could not start: {}", e.getMessage());
                }
              }
            },
            "stream-scoring-starter");
    starter.setDaemon(true);
    starter.start();
  }

  /** Events scored and unscorable so far; zeros before it starts. */
  StreamScoring.Counts counts() {
    StreamScoring s = running;
    return s == null ? new StreamScoring.Counts(0, 0) : s.counts();
  }

  @Override
  public void close() throws InterruptedException {
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
