package dev.streamscore.benchmarks;

import dev.streamscore.launcher.load.OpenLoop;
import dev.streamscore.proto.security.ClientSecurity;
import dev.streamscore.proto.security.ClientTls;
import dev.streamscore.proto.v1.ScoringGrpc;
import io.grpc.ManagedChannel;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * What a {@code Predict} costs the server beside a bare gRPC call, with the server and the load
 * generator on separate cores: {@link ScoringServerRole} runs in a child JVM pinned to core 0
 * ({@code taskset}), this JVM pins itself to core 1 and drives it open loop. For each rate it runs
 * the echo (same request, a canned response of a real one's size) and then {@code Predict} (store
 * and model), and reports the server's CPU per request (its process CPU time over the phase) and
 * the bytes its threads allocated per request, beside p50/p99/p99.9 from when each request was due.
 * Then {@code PredictStream}'s peak over 2 streams, with the same server figures.
 *
 * <pre>
 * STREAMSCORE_LOG_LEVEL=WARN java -Xmx1g -cp benchmarks/target/streamscore-benchmarks.jar \
 *     [-Dfloor.serverJvm="-XX:StartFlightRecording=filename=server.jfr"] \
 *     dev.streamscore.benchmarks.ScoringFloor [entities=100000] [seconds=10] [rates=2000,5000,10000]
 * </pre>
 */
public final class ScoringFloor {
  private ScoringFloor() {}

  record Stats(long cpuNanos, long allocated) {}

  /** How the server role is secured. */
  enum Mode {
    /** Plaintext, no access check: the embedded default. */
    PLAIN,
    /** TLS (server certificate only). */
    TLS,
    /** TLS, and the node checks each call's bearer token against an access policy. */
    TLS_AUTH;

    String label() {
      return switch (this) {
        case PLAIN -> "plaintext";
        case TLS -> "TLS";
        case TLS_AUTH -> "TLS+token";
      };
    }
  }

  /**
   * A {@link ScoringServerRole} in a child JVM pinned to core 0, this JVM pinned to core 1, and
   * channels to its node and its echo secured as {@code mode} says.
   */
  static final class Server implements AutoCloseable {
    final Process process;
    final BufferedReader from;
    final PrintWriter to;
    final ManagedChannel node;
    final ManagedChannel echo;
    final String responseBytes;

    Server(int entities, Mode mode, Optional<Path> certs) throws Exception {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      List<String> command = new ArrayList<>(List.of("taskset", "-c", "0", java, "-Xmx1g"));
      // -Dfloor.serverJvm="-XX:+UseParallelGC ..." tries JVM options on the server side only.
      String serverJvm = System.getProperty("floor.serverJvm", "").strip();
      if (!serverJvm.isEmpty()) {
        command.addAll(List.of(serverJvm.split("\\s+")));
      }
      command.addAll(
          List.of(
              "-cp",
              System.getProperty("java.class.path"),
              ScoringServerRole.class.getName(),
              Integer.toString(entities)));
      if (mode != Mode.PLAIN) {
        command.add(certs.orElseThrow().toString());
      }
      if (mode == Mode.TLS_AUTH) {
        command.add("auth");
      }
      process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      // Every thread of this JVM to core 1; threads started later inherit it.
      int pinned =
          new ProcessBuilder(
                  "taskset", "-a", "-p", "-c", "1", Long.toString(ProcessHandle.current().pid()))
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start()
              .waitFor();
      if (pinned != 0) {
        process.destroyForcibly();
        throw new IllegalStateException("taskset could not pin the load generator");
      }
      from =
          new BufferedReader(
              new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      to = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
      // The JVM may print first (JFR does); the role's first line is "ready ...".
      String line = from.readLine();
      while (line != null && !line.startsWith("ready ")) {
        System.out.println("server: " + line);
        line = from.readLine();
      }
      if (line == null) {
        process.destroyForcibly();
        throw new IllegalStateException("the server ended before it was ready");
      }
      String[] ready = line.split(" ");
      responseBytes = ready[3];
      Optional<ClientTls> tls =
          mode == Mode.PLAIN
              ? Optional.empty()
              : Optional.of(ClientTls.trusting(certs.orElseThrow().resolve("ca.pem")));
      Optional<String> token =
          mode == Mode.TLS_AUTH
              ? Optional.of(Files.readString(certs.orElseThrow().resolve("scorer.token")).strip())
              : Optional.empty();
      node = new ClientSecurity(tls, token).channel(ready[1]).directExecutor().build();
      echo = new ClientSecurity(tls, Optional.empty()).channel(ready[2]).directExecutor().build();
    }

    Stats stats() throws Exception {
      return ScoringFloor.stats(from, to);
    }

    @Override
    public void close() throws Exception {
      node.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      echo.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      to.println("quit");
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }

  public static void main(String[] args) throws Exception {
    int entities = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    int[] rates =
        java.util.Arrays.stream((args.length > 2 ? args[2] : "2000,5000,10000").split(","))
            .mapToInt(Integer::parseInt)
            .toArray();
    try (Server server = new Server(entities, Mode.PLAIN, Optional.empty())) {
      System.out.printf(
          "server pinned to core 0, load generator to core 1; response %s bytes%n",
          server.responseBytes);
      ScoringGrpc.ScoringStub predict = ScoringGrpc.newStub(server.node);
      ScoringGrpc.ScoringStub bare = ScoringGrpc.newStub(server.echo);
      BufferedReader from = server.from;
      PrintWriter to = server.to;
      // Untimed warm-up of both paths: the first seconds run interpreted code.
      run("warm-up", bare, 3_000, 8, entities, from, to, false);
      run("warm-up", predict, 3_000, 8, entities, from, to, false);
      printHeader();
      for (int rate : rates) {
        run("echo", bare, rate, seconds, entities, from, to, true);
        run("Predict", predict, rate, seconds, entities, from, to, true);
      }
      Stats before = server.stats();
      double peak = ScoringLoad.streamPeak(predict, entities, seconds);
      Stats after = server.stats();
      long answers = Math.round(peak * seconds);
      System.out.printf(
          Locale.ROOT,
          "PredictStream server: %.1f CPU us and %,d B allocated per prediction%n",
          (after.cpuNanos() - before.cpuNanos()) / 1e3 / answers,
          (after.allocated() - before.allocated()) / answers);
    }
  }

  static void printHeader() {
    System.out.printf(
        Locale.ROOT,
        "%-10s %7s %9s %8s %8s %9s %7s %12s %11s%n",
        "path",
        "rate",
        "achieved",
        "p50 us",
        "p99 us",
        "p99.9 us",
        "errors",
        "server CPU us",
        "server B/req");
  }

  private static Stats stats(BufferedReader from, PrintWriter to) throws Exception {
    to.println("stats");
    String[] parts = from.readLine().split(" ");
    return new Stats(Long.parseLong(parts[0]), Long.parseLong(parts[1]));
  }

  static void run(
      String path,
      ScoringGrpc.ScoringStub stub,
      int rate,
      int seconds,
      int entities,
      BufferedReader from,
      PrintWriter to,
      boolean print)
      throws Exception {
    SplittableRandom random = new SplittableRandom(rate);
    AtomicLong errors = new AtomicLong();
    Stats before = stats(from, to);
    OpenLoop.Result r =
        OpenLoop.start(
                path + "-" + rate,
                rate,
                (long) rate * seconds,
                (i, answered, failed) ->
                    stub.withDeadlineAfter(10, TimeUnit.SECONDS)
                        .predict(
                            ScoringLoad.request("fraud", "u" + random.nextInt(entities)),
                            ScoringLoad.completion(answered, errors)))
            .awaitDone(Duration.ofSeconds(seconds + 30L));
    Stats after = stats(from, to);
    if (!print) {
      return;
    }
    long n = (long) rate * seconds;
    Histogram h = r.latencyMicros();
    System.out.printf(
        Locale.ROOT,
        "%-10s %,7d %,9.0f %8d %8d %9d %7d %12.1f %,11d%n",
        path,
        rate,
        r.throughput(),
        h.getValueAtPercentile(50),
        h.getValueAtPercentile(99),
        h.getValueAtPercentile(99.9),
        errors.get(),
        (after.cpuNanos() - before.cpuNanos()) / 1e3 / n,
        (after.allocated() - before.allocated()) / n);
  }
}
