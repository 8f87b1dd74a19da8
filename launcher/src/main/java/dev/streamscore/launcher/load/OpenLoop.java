package dev.streamscore.launcher.load;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * An open-loop load generator: calls start at a fixed rate whether or not earlier ones have been
 * answered, and each answer's latency counts from when its call was due, so a stalled server shows
 * as latency instead of slowing the load down (no coordinated omission). Used by the demo and by
 * the benchmarks alike.
 *
 * <p>One thread sends, parked (not spinning) between calls: on two cores a spinning generator would
 * take a core from the server it measures. Every load is bounded: by a count of calls, or by {@link
 * #stop}.
 */
public final class OpenLoop {
  /** One asynchronous call; it reports its answer through exactly one of the callbacks. */
  public interface Call {
    void start(long sequence, Runnable answered, Runnable failed);
  }

  /**
   * What a load measured.
   *
   * @param sent calls started
   * @param answered calls answered without error
   * @param failed calls answered with an error
   * @param seconds from the first call's due time to the last answer
   * @param latencyMicros answered calls' latency from their due time, in microseconds
   */
  public record Result(
      long sent, long answered, long failed, double seconds, Histogram latencyMicros) {
    /** Answered calls per second. */
    public double throughput() {
      return seconds <= 0 ? 0 : answered / seconds;
    }

    /** Latency at {@code percentile} (0..100) in milliseconds. */
    public double millis(double percentile) {
      return latencyMicros.getValueAtPercentile(percentile) / 1000.0;
    }
  }

  private final int rate;
  private final long limit;
  private final Call call;
  private final Recorder latency = new Recorder(3);
  private final Recorder recent = new Recorder(3);
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong answered = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final Thread sender;
  private volatile boolean stopping;
  private volatile long startNanos;

  private OpenLoop(String name, int rate, long limit, Call call) {
    if (rate < 1) {
      throw new IllegalArgumentException("rate must be at least 1 per second, got " + rate);
    }
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1 call, got " + limit);
    }
    this.rate = rate;
    this.limit = limit;
    this.call = Objects.requireNonNull(call, "call");
    this.sender = new Thread(this::send, name);
    this.sender.setDaemon(true);
  }

  /** Starts {@code rate} calls per second until {@link #stop}. */
  public static OpenLoop start(String name, int rate, Call call) {
    return start(name, rate, Long.MAX_VALUE, call);
  }

  /** Starts {@code rate} calls per second, {@code limit} calls in all. */
  public static OpenLoop start(String name, int rate, long limit, Call call) {
    OpenLoop loop = new OpenLoop(name, rate, limit, call);
    loop.startNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
    loop.sender.start();
    return loop;
  }

  private void send() {
    long interval = TimeUnit.SECONDS.toNanos(1) / rate;
    for (long i = 0; i < limit && !stopping; i++) {
      long due = startNanos + i * interval;
      for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
        LockSupport.parkNanos(wait);
      }
      sent.incrementAndGet();
      call.start(
          i,
          () -> {
            long us = Math.max(0, (System.nanoTime() - due) / 1_000);
            latency.recordValue(us);
            recent.recordValue(us);
            answered.incrementAndGet();
          },
          failed::incrementAndGet);
    }
  }

  /** Forgets what was measured so far: the figures start from here. */
  public void reset() {
    latency.reset();
    answered.set(0);
    failed.set(0);
    sent.set(0);
    startNanos = System.nanoTime();
  }

  /** Calls answered with an error so far. */
  public long failedSoFar() {
    return failed.get();
  }

  /** Latency of the calls answered since the last call of this method. */
  public Histogram sinceLast() {
    return recent.getIntervalHistogram();
  }

  /**
   * Waits until every call was sent (at most the limit's worth of time, plus {@code drain}), then
   * up to {@code drain} for their answers.
   */
  public Result awaitDone(Duration drain) throws InterruptedException {
    long expected = (long) Math.ceil((double) limit / rate * 1_000);
    sender.join(expected + drain.toMillis());
    return finish(drain);
  }

  /** Stops sending, then waits up to {@code drain} for the answers still in flight. */
  public Result stop(Duration drain) throws InterruptedException {
    stopping = true;
    sender.join();
    return finish(drain);
  }

  private Result finish(Duration drain) throws InterruptedException {
    long deadline = System.nanoTime() + drain.toNanos();
    while (answered.get() + failed.get() < sent.get() && System.nanoTime() < deadline) {
      Thread.sleep(5); // the answers still in flight
    }
    double seconds = (System.nanoTime() - startNanos) / 1e9;
    return new Result(
        sent.get(), answered.get(), failed.get(), seconds, latency.getIntervalHistogram());
  }
}
