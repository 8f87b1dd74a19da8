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
    awaitUsers(bootstrap, "u");
    // Five of them again: the job counts them as DUPLICATE, and /metrics shows its counts.
    Tools.run(
        events.lines().limit(5).collect(Collectors.joining("\n")),
        "kcat",
        "-P",
        "-b",
        bootstrap,
        "-t",
        "raw.payments");
    String metrics = endpoint(first, "metrics: ");
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () ->
                assertThat(PrometheusText.parse(fetch(metrics)))
                    .anyMatch(
                        s ->
                            s.name().equals("streamscore_etl_events_total")
                                && "flink".equals(s.labels().get("engine"))
                                && s.value() == 105)
                    .anyMatch(
                        s ->
                            s.name().equals("streamscore_etl_rejected_total")
                                && "DUPLICATE".equals(s.labels().get("reason"))
                                && s.value() == 5)
                    .anyMatch(s -> s.name().equals("streamscore_etl_rows_total") && s.value() > 0)
                    .anyMatch(
                        s ->
                            s.name().equals("streamscore_etl_late_total")
                                && "user_txn".equals(s.labels().get("view")))
                    .anyMatch(
                        s ->
                            s.name().equals("streamscore_etl_checkpoint_age_seconds")
                                && s.value() >= 0
                                && s.value() < 60));
    assertThat(
            Tools.run(
                "", javaBin(), "-jar", Launcher.JAR.toString(), "status", "--metrics", metrics))
        .anyMatch(
            l ->
                l.matches(
                    "etl flink: 105 events, \\d+ rows, checkpoint \\d+ s ago; rejected: DUPLICATE 5"));

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

  /**
   * SIGKILL the ETL child: {@code up} restarts it, and meanwhile {@code /metrics}, {@code status}
   * and the feature service's health show the outage; afterwards new events become features again.
   * Every socket of {@code up} and its children listens on 127.0.0.1 only.
   */
  @Test
  void restartsAKilledEtlJobShowsTheOutageAndListensOnLoopbackOnly(@TempDir Path dataDir)
      throws Exception {
    Tools.require("ss");
    int port = Launcher.freePort();
    String bootstrap = "127.0.0.1:" + port;
    Launcher.Running up = launcher.up(port, dataDir);
    assertThat(up.awaitLine("ready", Duration.ofSeconds(120))).isTrue();

    List<String> listening = listeners(up.process);
    assertThat(listening).isNotEmpty();
    assertThat(listening)
        .allMatch(a -> a.startsWith("127.0.0.1:") || a.startsWith("[::ffff:127.0.0.1]:"));

    String metrics = endpoint(up, "metrics: ");
    String features = endpoint(up, "features: ");
    String etlLine =
        up.lines().stream().filter(l -> l.startsWith("etl: flink")).findFirst().orElseThrow();
    long etlPid = Long.parseLong(etlLine.replaceAll(".*pid (\\d+)\\).*", "$1"));
    publish(bootstrap, "before", 0);
    awaitUsers(bootstrap, "before-");

    ProcessHandle.of(etlPid).orElseThrow().destroyForcibly();
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> stageState(metrics, "etl").startsWith("RESTARTING"));
    assertThat(stageState(metrics, "etl")).contains("exited with status 137");
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                health(features)
                    == io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING);
    List<String> status =
        Tools.run("", javaBin(), "-jar", Launcher.JAR.toString(), "status", "--metrics", metrics);
    assertThat(status).anyMatch(l -> l.startsWith("etl") && !l.contains("RUNNING"));

    await()
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofMillis(500))
        .until(() -> stageState(metrics, "etl").equals("RUNNING"));
    assertThat(PrometheusText.parse(fetch(metrics)))
        .anyMatch(
            s ->
                s.name().equals("streamscore_stage_restarts_total")
                    && "etl".equals(s.labels().get("stage"))
                    && s.value() == 1);
    publish(bootstrap, "after", 1_000);
    awaitUsers(bootstrap, "after-");
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> health(features) == io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
    assertThat(listeners(up.process))
        .allMatch(a -> a.startsWith("127.0.0.1:") || a.startsWith("[::ffff:127.0.0.1]:"));
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static String endpoint(Launcher.Running up, String prefix) {
    return up.lines().stream()
        .filter(l -> l.startsWith(prefix))
        .findFirst()
        .orElseThrow()
        .substring(prefix.length());
  }

  /** The local addresses every listening TCP socket of the process and its descendants has. */
  private static List<String> listeners(Process process) throws Exception {
    java.util.Set<Long> pids = new java.util.HashSet<>();
    pids.add(process.pid());
    process.descendants().forEach(p -> pids.add(p.pid()));
    return Tools.run("", "ss", "-ltnpH").stream()
        .filter(l -> pids.stream().anyMatch(pid -> l.contains("pid=" + pid + ",")))
        .map(l -> l.trim().split("\\s+")[3])
        .toList();
  }

  private static String fetch(String url) throws Exception {
    var client = java.net.http.HttpClient.newHttpClient();
    return client
        .send(
            java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString())
        .body();
  }

  /** {@code RUNNING}, or the state and its reason. */
  private static String stageState(String metrics, String stage) throws Exception {
    return PrometheusText.parse(fetch(metrics)).stream()
        .filter(
            s ->
                s.name().equals("streamscore_stage_state")
                    && stage.equals(s.labels().get("stage"))
                    && s.value() == 1)
        .map(s -> s.labels().get("state") + " " + s.labels().get("reason"))
        .findFirst()
        .orElse("?")
        .trim();
  }

  private static io.grpc.health.v1.HealthCheckResponse.ServingStatus health(String target) {
    var channel =
        io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forTarget(target)
            .usePlaintext()
            .build();
    try {
      return io.grpc.health.v1.HealthGrpc.newBlockingStub(channel)
          .withDeadlineAfter(5, TimeUnit.SECONDS)
          .check(io.grpc.health.v1.HealthCheckRequest.getDefaultInstance())
          .getStatus();
    } finally {
      channel.shutdownNow();
    }
  }

  /** 20 payments of users {@code PREFIX-0..6} with kcat, at the current time. */
  private static void publish(String bootstrap, String prefix, int offset) throws Exception {
    long now = System.currentTimeMillis();
    String events =
        IntStream.range(0, 20)
            .mapToObj(
                i ->
                    "{\"user_id\":\"%s-%d\",\"txn_id\":\"%s-t%d\",\"ts\":%d,\"amount\":3,\"merchant_id\":\"m\"}"
                        .formatted(prefix, i % 7, prefix, i, now + offset + i))
            .collect(Collectors.joining("\n"));
    Tools.run(events, "kcat", "-P", "-b", bootstrap, "-t", "raw.payments");
  }

  /**
   * Waits until features.user_txn has tiles of seven users whose ids start with {@code prefix} (the
   * job coalesces a tile's changes, so a user's events within the same minute may arrive as one
   * row).
   */
  private static void awaitUsers(String bootstrap, String prefix) {
    await()
        .atMost(Duration.ofSeconds(90))
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
                    .filter(key -> key.startsWith(prefix))
                    .map(key -> key.substring(0, key.indexOf('@')))
                    .distinct()
                    .count(),
            users -> users == 7);
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
