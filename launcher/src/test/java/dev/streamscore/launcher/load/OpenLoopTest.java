package dev.streamscore.launcher.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class OpenLoopTest {
  @Test
  void aBoundedLoadSendsEveryCallAndCountsEachAnswerOnce() throws Exception {
    OpenLoop.Result r =
        OpenLoop.start(
                "test",
                5_000,
                500,
                (i, answered, failed) -> (i % 10 == 9 ? failed : answered).run())
            .awaitDone(Duration.ofSeconds(10));

    assertThat(r.sent()).isEqualTo(500);
    assertThat(r.answered()).isEqualTo(450);
    assertThat(r.failed()).isEqualTo(50);
    assertThat(r.latencyMicros().getTotalCount()).isEqualTo(450);
  }

  @Test
  void latencyCountsFromWhenACallWasDueNotWhenItWasSent() throws Exception {
    ScheduledExecutorService server = Executors.newSingleThreadScheduledExecutor();
    try {
      // Every answer takes 20 ms: the latency of each is at least that.
      OpenLoop.Result r =
          OpenLoop.start(
                  "test",
                  1_000,
                  100,
                  (i, answered, failed) -> server.schedule(answered, 20, TimeUnit.MILLISECONDS))
              .awaitDone(Duration.ofSeconds(10));

      assertThat(r.answered()).isEqualTo(100);
      assertThat(r.latencyMicros().getMinValue()).isGreaterThanOrEqualTo(20_000);
    } finally {
      server.shutdownNow();
    }
  }

  @Test
  void anUnboundedLoadStopsWhenToldAndWaitsForWhatIsInFlight() throws Exception {
    java.util.concurrent.atomic.AtomicLong calls = new java.util.concurrent.atomic.AtomicLong();
    OpenLoop loop =
        OpenLoop.start(
            "test",
            1_000,
            (i, answered, failed) -> {
              calls.incrementAndGet();
              answered.run();
            });
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.get() >= 10);
    OpenLoop.Result r = loop.stop(Duration.ofSeconds(5));

    assertThat(r.sent()).isGreaterThanOrEqualTo(10).isEqualTo(calls.get());
    assertThat(r.answered() + r.failed()).isEqualTo(r.sent());
  }

  @Test
  void aRateOrLimitBelowOneIsRefused() {
    assertThatThrownBy(() -> OpenLoop.start("test", 0, (i, a, f) -> {}))
        .hasMessageContaining("rate");
    assertThatThrownBy(() -> OpenLoop.start("test", 10, 0, (i, a, f) -> {}))
        .hasMessageContaining("limit");
  }
}
