package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamscore.modelsync.RegistryServer;
import dev.streamscore.proto.ServerTransport;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code streamscore consistency} refuses, each with one line and exit code 1. */
class ConsistencyCommandTest {
  private static CliRun run(String... args) {
    return CliRun.of(args);
  }

  @Test
  void aBadModelNameOrTimeRangeIsRefusedInOneLine() {
    CliRun badName = run("consistency", "--model", "Fraud!");
    CliRun badTime = run("consistency", "--model", "fraud", "--from", "yesterday");
    CliRun backwards =
        run(
            "consistency",
            "--model",
            "fraud",
            "--from",
            "2026-11-27T10:00:00Z",
            "--to",
            "2026-11-27T09:00:00Z");

    assertThat(badName.code()).isEqualTo(1);
    assertThat(badName.err().strip())
        .isEqualTo(
            "streamscore: --model must be 1 to 64 of a-z, 0-9, '_' and '-' (fraud), got 'Fraud!'");
    assertThat(badTime.err().strip())
        .isEqualTo(
            "streamscore: --from 'yesterday' is not an ISO-8601 time (2026-11-27T10:00:00Z)");
    assertThat(backwards.err().strip())
        .isEqualTo(
            "streamscore: --from 2026-11-27T10:00:00Z is not before --to 2026-11-27T09:00:00Z");
    assertThat(badTime.code()).isEqualTo(1);
    assertThat(backwards.code()).isEqualTo(1);
  }

  @Test
  void anUnknownModelIsRefusedInOneLine(@TempDir Path dir) {
    try (RegistryServer registry =
        RegistryServer.start(
            ServerTransport.loopback(0), dir, Optional.empty(), Clock.systemUTC())) {
      CliRun unknown = run("consistency", "--model", "nope", "--registry", registry.address());

      assertThat(unknown.code()).isEqualTo(1);
      assertThat(unknown.err().strip())
          .isEqualTo("streamscore: NOT_FOUND: no model named 'nope' is registered");
    }
  }
}
