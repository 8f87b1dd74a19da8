package dev.streamscore.proto;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One stage that must not stay dead (the validator, the ETL job, stream scoring): started at once,
 * then watched every half second and, when it stops on its own, restarted with a backoff that
 * doubles from 1 s to 60 s (and starts again at 1 s once a run lasted a minute). Its {@link
 * #status()} says what it does now, for {@code /metrics}, {@code status} and health.
 *
 * <p>Close order: the watcher stops first (no restart can begin after), then the stage.
 *
 * @param <T> the stage's running instance
 */
public final class Supervised<T extends AutoCloseable> implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Supervised.class);
  static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
  static final Duration MAX_BACKOFF = Duration.ofSeconds(60);
  private static final Duration STABLE = Duration.ofMinutes(1);
  private static final Duration WATCH = Duration.ofMillis(500);

  /** What a stage does now. */
  public enum State {
    RUNNING,
    /** Not started yet: it waits for what it needs (stream scoring, for its model). */
    WAITING,
    RESTARTING,
    FAILED,
    STOPPED
  }

  /**
   * A stage's state.
   *
   * @param stage its name ({@code validator}, {@code etl})
   * @param state what it does now
   * @param reason why it is not running (empty while running)
   * @param restarts how often it was restarted
   */
  public record Status(String stage, State state, String reason, long restarts) {
    public Status {
      Objects.requireNonNull(stage, "stage");
      Objects.requireNonNull(state, "state");
      Objects.requireNonNull(reason, "reason");
    }
  }

  /** Starts the stage; throws when it cannot. */
  public interface Starter<T> {
    T start() throws Exception;
  }

  private final String stage;
  private final Starter<T> starter;
  private final Function<T, String> deadReason;
  private final Clock clock;
  private final Thread watcher;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private volatile T current;
  private volatile Status status;
  private volatile boolean closed;
  private Instant startedAt;

  /**
   * Starts the stage now (its failure is the caller's) and watches it from then on.
   *
   * @param deadReason why the instance stopped, or null while it runs
   */
  public Supervised(String stage, Starter<T> starter, Function<T, String> deadReason, Clock clock)
      throws Exception {
    this.stage = stage;
    this.starter = starter;
    this.deadReason = deadReason;
    this.clock = clock;
    this.current = starter.start();
    this.startedAt = clock.instant();
    this.status = new Status(stage, State.RUNNING, "", 0);
    this.watcher = new Thread(this::watch, "supervise-" + stage);
    watcher.setDaemon(true);
    watcher.start();
  }

  /** The running instance (a new one after each restart). */
  public T current() {
    return current;
  }

  public Status status() {
    return status;
  }

  public boolean running() {
    return status.state() == State.RUNNING;
  }

  private void watch() {
    Duration backoff = FIRST_BACKOFF;
    long restarts = 0;
    while (!closed) {
      if (!pause(WATCH)) {
        return;
      }
      String why;
      try {
        why = deadReason.apply(current);
      } catch (RuntimeException e) {
        why = "its check failed: " + e;
      }
      if (why == null) {
        continue;
      }
      if (Duration.between(startedAt, clock.instant()).compareTo(STABLE) >= 0) {
        backoff = FIRST_BACKOFF;
      }
      status = new Status(stage, State.RESTARTING, why, restarts);
      LOG.warn("{} stopped ({}); restarting it in {} s", stage, why, backoff.toSeconds());
      closeQuietly(current);
      while (!closed) {
        if (!pause(backoff)) {
          return;
        }
        backoff =
            backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0
                ? MAX_BACKOFF
                : backoff.multipliedBy(2);
        try {
          T next = starter.start();
          lock.lock();
          try {
            if (closed) {
              closeQuietly(next);
              return;
            }
            current = next;
          } finally {
            lock.unlock();
          }
          startedAt = clock.instant();
          restarts++;
          status = new Status(stage, State.RUNNING, "", restarts);
          LOG.info("{} restarted (restart {})", stage, restarts);
          break;
        } catch (Exception e) {
          String reason = "restart failed: " + e.getMessage();
          status = new Status(stage, State.FAILED, reason, restarts);
          LOG.warn("{}: {}; trying again in {} s", stage, reason, backoff.toSeconds());
        }
      }
    }
  }

  /** Waits {@code d} unless closed meanwhile; false once closed. */
  private boolean pause(Duration d) {
    lock.lock();
    try {
      long nanos = d.toNanos();
      while (!closed && nanos > 0) {
        nanos = changed.awaitNanos(nanos);
      }
      return !closed;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } finally {
      lock.unlock();
    }
  }

  private void closeQuietly(T instance) {
    try {
      instance.close();
    } catch (Exception e) {
      LOG.warn("stopping the {} failed: {}", stage, e.toString());
    }
  }

  @Override
  public void close() throws Exception {
    lock.lock();
    try {
      closed = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    // A start in progress finishes (and is closed) before the watcher ends.
    watcher.join(TimeUnit.SECONDS.toMillis(240));
    status = new Status(stage, State.STOPPED, "", status.restarts());
    current.close();
  }
}
