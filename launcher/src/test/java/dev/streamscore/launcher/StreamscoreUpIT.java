package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged {@code streamscore up} as a new user runs it: a separate JVM, an independent client
 * (Debian's kcat, librdkafka), SIGINT to stop, and a restart on the same data directory.
 */
class StreamscoreUpIT {
  private static final int MESSAGES = 10_000;

  private final Launcher launcher = new Launcher();

  @BeforeAll
  static void requireTools() {
    assertThat(Launcher.JAR).as("the packaged launcher").isRegularFile();
    Tools.require("kcat");
  }

  @AfterEach
  void killLeftovers() {
    launcher.killAll();
  }

  @Test
  void servesKcatComputesFeaturesStopsOnSigintAndKeepsDataAcrossRestart(@TempDir Path dataDir)
      throws Exception {
    int port = Launcher.freePort();
    String bootstrap = "127.0.0.1:" + port;

    Launcher.Running first = launcher.up(port, dataDir);
    assertThat(first.awaitLine("ready", Duration.ofSeconds(120))).isTrue();
    assertThat(first.lines()).contains("kafka: " + bootstrap);
    assertThat(first.lines()).anyMatch(l -> l.startsWith("etl: flink (MiniCluster, pid "));

    // Any Kafka client's JSON becomes tile rows of each user (the job coalesces a tile's changes,
    // so a user's 14 or so events within the same minute may arrive as one row).
    long now = System.currentTimeMillis();
    String events =
        IntStream.range(0, 100)
            .mapToObj(
                i ->
                    "{\"user_id\":\"u"
                        + (i % 7)
                        + "\",\"txn_id\":\"t"
                        + i
                        + "\",\"ts\":"
                        + (now + i)
                        + ",\"amount\":12.5,\"merchant_id\":\"m"
                        + (i % 3)
                        + "\"}")
            .collect(Collectors.joining("\n"));
    Tools.run(events, "kcat", "-P", "-b", bootstrap, "-t", "raw.payments");
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(500))
        .until(
            () ->
                Tools.run(
                        "",
                        "kcat",
                        "-C",
                        "-b",
                        bootstrap,
                        "-t",
                        "features.user_txn",
                        "-e",
                        "-q",
                        "-X",
                        "isolation.level=read_committed",
                        "-f",
                        "%k\n")
                    .stream()
                    .map(key -> key.substring(0, key.indexOf('@')))
                    .distinct()
                    .count(),
            users -> users == 7);

    String payload =
        IntStream.range(0, MESSAGES)
            .mapToObj(i -> "message-" + i)
            .collect(Collectors.joining("\n"));
    Tools.run(payload, "kcat", "-P", "-b", bootstrap, "-t", "kcat-roundtrip");
    List<String> consumed =
        Tools.run("", "kcat", "-C", "-b", bootstrap, "-t", "kcat-roundtrip", "-e", "-q");
    assertThat(consumed).hasSize(MESSAGES).contains("message-0", "message-9999");

    List<ProcessHandle> children = first.process.descendants().toList();
    Tools.run("", "kill", "-INT", Long.toString(first.process.pid()));
    assertThat(first.process.waitFor(10, TimeUnit.SECONDS))
        .as("exits within 10 s of SIGINT")
        .isTrue();
    assertThat(first.process.exitValue()).isEqualTo(130);
    assertThat(children).noneMatch(ProcessHandle::isAlive);
    await().atMost(Duration.ofSeconds(5)).until(() -> first.lines().contains("stopped"));

    Launcher.Running second = launcher.up(port, dataDir);
    assertThat(second.awaitLine("ready", Duration.ofSeconds(120))).isTrue();
    List<String> again =
        Tools.run("", "kcat", "-C", "-b", bootstrap, "-t", "kcat-roundtrip", "-e", "-q");
    assertThat(again).hasSize(MESSAGES);

    second.process.destroy(); // SIGTERM
    assertThat(second.process.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(second.process.exitValue()).isEqualTo(143);
  }

  @Test
  void reportsAPortInUseInOneLineAndExits(@TempDir Path dataDir) throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      Launcher.Running running = launcher.up(taken.getLocalPort(), dataDir);
      assertThat(running.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(running.process.exitValue()).isEqualTo(1);
      assertThat(running.errors())
          .containsExactly(
              "streamscore: cannot start the embedded Kafka broker: port "
                  + taken.getLocalPort()
                  + " on 127.0.0.1 is in use; choose another port or 0");
    }
  }

  static final class Tools {
    private Tools() {}

    static void require(String tool) {
      boolean present =
          Files.isExecutable(Path.of("/usr/bin", tool))
              || Files.isExecutable(Path.of("/usr/local/bin", tool));
      if (!present && System.getenv("CI") == null) {
        org.junit.jupiter.api.Assumptions.abort(
            tool + " is not installed (Debian: apt-get install " + tool + "); .ci/run installs it");
      }
      assertThat(present).as(tool + " must be installed in CI").isTrue();
    }

    static List<String> run(String stdin, String... command)
        throws IOException, InterruptedException {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      try (var in = p.getOutputStream()) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
      List<String> lines;
      try (var reader =
          new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        lines = reader.lines().toList();
      }
      assertThat(p.waitFor(60, TimeUnit.SECONDS))
          .as(String.join(" ", command) + " finished")
          .isTrue();
      assertThat(p.exitValue())
          .as(String.join(" ", command) + " exit code; output: " + lines)
          .isZero();
      return lines;
    }
  }
}
