package dev.streamscore.launcher;

import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/** Runs the packaged {@code streamscore} command in separate JVMs, as a user does, for ITs. */
final class Launcher {
  static final Path JAR = Path.of(System.getProperty("streamscore.jar", "target/streamscore.jar"));

  private final List<Process> started = new ArrayList<>();

  /**
   * {@code streamscore up} with the embedded broker on {@code kafkaPort}, every other port chosen
   * by the system, and any further options.
   */
  Running up(int kafkaPort, Path dataDir, String... more) throws IOException {
    return upWith(List.of("--kafka-port", Integer.toString(kafkaPort)), dataDir, more);
  }

  /** {@code streamscore up} on an existing cluster, every port chosen by the system. */
  Running upOn(String kafka, Path dataDir, String... more) throws IOException {
    return upWith(List.of("--kafka", kafka), dataDir, more);
  }

  private Running upWith(List<String> kafka, Path dataDir, String... more) throws IOException {
    List<String> args = new ArrayList<>(List.of("up"));
    args.addAll(kafka);
    for (String port :
        List.of(
            "--ingest-port",
            "--metrics-port",
            "--features-port",
            "--registry-port",
            "--scoring-port",
            "--console-port")) {
      args.addAll(List.of(port, "0"));
    }
    args.addAll(List.of("--data-dir", dataDir.toString()));
    args.addAll(List.of(more));
    return start(args.toArray(String[]::new));
  }

  /** {@code streamscore ARGS...}. */
  Running start(String... args) throws IOException {
    return start(java.util.Map.of(), args);
  }

  /** {@code streamscore ARGS...} with these environment variables added. */
  Running start(java.util.Map<String, String> env, String... args) throws IOException {
    List<String> command = new ArrayList<>();
    // As ./streamscore does: a SIGINT that is ignored on entry would otherwise stay ignored.
    command.addAll(List.of("env", "--default-signal=INT"));
    command.addAll(
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx512m",
            // Several of these JVMs share CI's two cores with the test's own: as the local cluster
            // does there, no G1 background threads and no C2 (RoleCommandsIT 111 s -> 96 s).
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-DOPT_OUT_TRACKING=true",
            "-jar",
            JAR.toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().putAll(env);
    Process process = builder.start();
    started.add(process);
    return new Running(process);
  }

  /** SIGKILLs every process started (and its children) that is still alive. */
  void killAll() {
    started.forEach(
        p -> {
          p.descendants().forEach(ProcessHandle::destroyForcibly);
          p.destroyForcibly();
        });
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return socket.getLocalPort();
    }
  }

  /** A started process whose stdout and stderr are collected line by line. */
  static final class Running {
    final Process process;
    private final List<String> out = new CopyOnWriteArrayList<>();
    private final List<String> err = new CopyOnWriteArrayList<>();

    Running(Process process) {
      this.process = process;
      pump(process.getInputStream(), out);
      pump(process.getErrorStream(), err);
    }

    private static void pump(java.io.InputStream stream, List<String> into) {
      Thread t =
          new Thread(
              () -> {
                try (var reader =
                    new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                  reader.lines().forEach(into::add);
                } catch (IOException | java.io.UncheckedIOException e) {
                  // The test destroyed the process (and closed its streams) before its end.
                  into.add("<stream closed: " + e + ">");
                }
              });
      t.setDaemon(true);
      t.start();
    }

    boolean awaitLine(String line, Duration timeout) {
      await()
          .atMost(timeout)
          .until(
              () -> {
                if (out.contains(line)) {
                  return true;
                }
                if (!process.isAlive()) {
                  throw new AssertionError(
                      "exited with "
                          + process.exitValue()
                          + " before '"
                          + line
                          + "'; stderr: "
                          + err);
                }
                return false;
              });
      return true;
    }

    /** Waits for the process to exit and returns its exit code. */
    int awaitExit(Duration timeout) throws InterruptedException {
      if (!process.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
        throw new AssertionError("still running after " + timeout + "; stderr: " + err);
      }
      return process.exitValue();
    }

    /** The address printed for {@code name} ({@code ingest: 127.0.0.1:41234}). */
    Optional<String> endpoint(String name) {
      return out.stream()
          .filter(l -> l.startsWith(name + ": "))
          .map(l -> l.substring(name.length() + 2))
          .findFirst();
    }

    List<String> lines() {
      return out;
    }

    /** Every stderr line, log lines included. */
    List<String> stderr() {
      return err;
    }

    /** stderr lines other than log lines (which start with a time stamp). */
    List<String> errors() {
      return err.stream().filter(l -> !l.matches("^\\d\\d:\\d\\d:\\d\\d.*")).toList();
    }
  }
}
