package dev.streamscore.benchmarks;

import dev.streamscore.launcher.load.OpenLoop;
import dev.streamscore.proto.v1.ScoringGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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

  private record Stats(long cpuNanos, long allocated) {}

  public static void main(String[] args) throws Exception {
    int entities = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    int[] rates =
        java.util.Arrays.stream((args.length > 2 ? args[2] : "2000,5000,10000").split(","))
            .mapToInt(Integer::parseInt)
            .toArray();
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
    Process server =
        new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    // Every thread of this JVM to core 1; threads started later inherit it.
    int pinned =
        new ProcessBuilder(
                "taskset", "-a", "-p", "-c", "1", Long.toString(ProcessHandle.current().pid()))
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start()
            .waitFor();
    if (pinned != 0) {
      throw new IllegalStateException("taskset could not pin the load generator");
    }
    BufferedReader from =
        new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
    PrintWriter to = new PrintWriter(server.getOutputStream(), true, StandardCharsets.UTF_8);
    try {
      // The JVM may print first (JFR does); the role's first line is "ready ...".
      String line = from.readLine();
      while (line != null && !line.startsWith("ready ")) {
        System.out.println("server: " + line);
        line = from.readLine();
      }
      if (line == null) {
        throw new IllegalStateException("the server ended before it was ready");
      }
      String[] ready = line.split(" ");
      System.out.printf(
          "server pinned to core 0, load generator to core 1; response %s bytes%n", ready[3]);
      ManagedChannel node =
          NettyChannelBuilder.forTarget(ready[1]).usePlaintext().directExecutor().build();
      ManagedChannel echo =
          NettyChannelBuilder.forTarget(ready[2]).usePlaintext().directExecutor().build();
      ScoringGrpc.ScoringStub predict = ScoringGrpc.newStub(node);
      ScoringGrpc.ScoringStub bare = ScoringGrpc.newStub(echo);
      // Untimed warm-up of both paths: the first seconds run interpreted code.
      run("warm-up", bare, 3_000, 8, entities, from, to, false);
      run("warm-up", predict, 3_000, 8, entities, from, to, false);
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
      for (int rate : rates) {
        run("echo", bare, rate, seconds, entities, from, to, true);
        run("Predict", predict, rate, seconds, entities, from, to, true);
      }
      Stats before = stats(from, to);
      double peak = ScoringLoad.streamPeak(predict, entities, seconds);
      Stats after = stats(from, to);
      long answers = Math.round(peak * seconds);
      System.out.printf(
          Locale.ROOT,
          "PredictStream server: %.1f CPU us and %,d B allocated per prediction%n",
          (after.cpuNanos() - before.cpuNanos()) / 1e3 / answers,
          (after.allocated() - before.allocated()) / answers);
      node.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      echo.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    } finally {
      to.println("quit");
      if (!server.waitFor(30, TimeUnit.SECONDS)) {
        server.destroyForcibly();
      }
    }
  }

  private static Stats stats(BufferedReader from, PrintWriter to) throws Exception {
    to.println("stats");
    String[] parts = from.readLine().split(" ");
    return new Stats(Long.parseLong(parts[0]), Long.parseLong(parts[1]));
  }

  private static void run(
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
