package dev.streamscore.proto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SupervisedTest {
  /** A stage that runs until told to die, and may refuse to start. */
  private static final class Stage implements AutoCloseable {
    volatile String died;
    volatile boolean closed;

    @Override
    public void close() {
      closed = true;
    }
  }

  @Test
  void restartsAStageThatStoppedAndShowsWhyMeanwhile() throws Exception {
    AtomicInteger starts = new AtomicInteger();
    AtomicInteger refusals = new AtomicInteger(1);
    Supervised<Stage> supervised =
        new Supervised<>(
            "etl",
            () -> {
              if (starts.getAndIncrement() > 0 && refusals.getAndDecrement() > 0) {
                throw new IllegalStateException("port in use");
              }
              return new Stage();
            },
            s -> s.died,
            Clock.systemUTC());
    try {
      Stage first = supervised.current();
      assertThat(supervised.status())
          .isEqualTo(new Supervised.Status("etl", Supervised.State.RUNNING, "", 0));

      first.died = "exited with status 137";

      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> supervised.status().state() == Supervised.State.RESTARTING);
      assertThat(supervised.status().reason()).isEqualTo("exited with status 137");
      await().atMost(Duration.ofSeconds(5)).until(() -> first.closed);
      // The first restart fails: FAILED with the reason, then a later one succeeds.
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> supervised.status().state() == Supervised.State.FAILED);
      assertThat(supervised.status().reason()).isEqualTo("restart failed: port in use");
      await().atMost(Duration.ofSeconds(10)).until(supervised::running);
      assertThat(supervised.status().restarts()).isEqualTo(1);
      assertThat(supervised.current()).isNotSameAs(first);
      assertThat(starts.get()).isEqualTo(3);
    } finally {
      supervised.close();
    }
    assertThat(supervised.status().state()).isEqualTo(Supervised.State.STOPPED);
    assertThat(supervised.current().closed).isTrue();
  }

  @Test
  void aStageClosedByItsOwnerIsNotRestarted() throws Exception {
    AtomicInteger starts = new AtomicInteger();
    Supervised<Stage> supervised =
        new Supervised<>(
            "validator",
            () -> {
              starts.incrementAndGet();
              return new Stage();
            },
            s -> s.closed ? "closed" : null,
            Clock.systemUTC());
    supervised.close();

    assertThat(starts.get()).isEqualTo(1);
    assertThat(supervised.status().state()).isEqualTo(Supervised.State.STOPPED);
  }
}
