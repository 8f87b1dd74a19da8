package dev.streamscore.launcher.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessesTest {
  @TempDir Path dir;

  private Member shell(String name, String script) {
    // The marker is the shell's $0: on the command line as on a real member's.
    return new Member(
        name, List.of("/bin/sh", "-c", script, Member.marker(name)), Map.of(), 0, "ready");
  }

  @Test
  void aMemberThatExitsWhileStartingIsReportedWithItsExitCodeAndLog() {
    Processes processes = new Processes(new Layout(dir, 30_000), Clock.systemUTC());
    Member broken = shell("registry", "echo 'cannot read the journal'; exit 3");
    long offset = processes.start(broken);
    assertThatThrownBy(() -> processes.awaitReady(broken, offset, Duration.ofSeconds(30)))
        .isInstanceOf(ClusterException.class)
        .hasMessageContaining("registry exited while starting (exit code 3)")
        .hasMessageContaining("cannot read the journal");
  }

  @Test
  void aStartedMemberWhoseCommandLineNoLongerShowsItsMarkerIsNotTakenForDead() throws Exception {
    Processes processes = new Processes(new Layout(dir, 30_000), Clock.systemUTC());
    // At once the process execs a shell without the marker on its command line, as a process is
    // for an instant between spawn and exec, and only says ready a second later: meanwhile only the
    // Process handle knows it is ours and alive.
    Member member = shell("registry", "exec /bin/sh -c 'sleep 1; echo ready; exec sleep 60'");
    long offset = processes.start(member);
    try {
      processes.awaitReady(member, offset, Duration.ofSeconds(30));
      assertThat(Files.readString(new Layout(dir, 30_000).log("registry"))).contains("ready");
    } finally {
      long pid =
          Long.parseLong(Files.readString(new Layout(dir, 30_000).pidFile("registry")).trim());
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
  }
}
