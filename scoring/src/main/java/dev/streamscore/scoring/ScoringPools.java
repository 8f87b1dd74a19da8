package dev.streamscore.scoring;

import dev.streamscore.proto.Daemons;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * A scoring server's threads: the request pool ({@code threads} threads; admission, not the queue,
 * bounds the work) and one shadow thread with a queue of 1,000 (what it cannot take is dropped).
 * Close: shadows finish what they hold (up to 5 s), requests are interrupted.
 */
record ScoringPools(ThreadPoolExecutor requests, ThreadPoolExecutor shadows) {
  static ScoringPools of(int threads) {
    return new ScoringPools(
        new ThreadPoolExecutor(
            threads,
            threads,
            0,
            TimeUnit.MILLISECONDS,
            new LinkedBlockingQueue<>(),
            Daemons.named("scoring")),
        new ThreadPoolExecutor(
            1,
            1,
            0,
            TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(1_000),
            Daemons.named("shadow")));
  }

  void close() {
    shadows.shutdown();
    requests.shutdownNow();
    try {
      shadows.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
