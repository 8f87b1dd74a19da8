package dev.streamscore.launcher.cluster;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

/** Command lines for the cluster's JVMs: our java binary, a member marker, a class path. */
final class Jvm {
  private Jvm() {}

  /** {@code java}, the member's marker, the heap, exit on OOM, and a temp dir of its own. */
  static List<String> base(Layout layout, String member, String heap) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add(Member.marker(member));
    if (!heap.isEmpty()) {
      command.add("-Xmx" + heap);
    }
    command.add("-XX:+ExitOnOutOfMemoryError");
    command.addAll(sharedCoreOptions(Runtime.getRuntime().availableProcessors()));
    Path tmp = layout.data(member).resolve("tmp");
    try {
      Files.createDirectories(tmp);
    } catch (IOException e) {
      throw new ClusterException("cannot create " + tmp + ": " + e.getMessage(), e);
    }
    command.add("-Djava.io.tmpdir=" + tmp);
    return command;
  }

  /**
   * On fewer than 4 cores, the serial collector and the C1 compiler only. Thirteen JVMs sharing two
   * cores spent more on G1's background threads and C2's compilations than those give back:
   * measured on 2 cores, {@code cluster up} took 40 s instead of 64, an upgrade 30 s instead of 58,
   * and a scoring node and the TaskManager killed together served again in 31 s instead of 77.
   */
  static List<String> sharedCoreOptions(int cores) {
    return cores < 4 ? List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1") : List.of();
  }

  /** {@code --add-opens} of each package of java.base to the class path. */
  static List<String> opens(List<String> packages) {
    return packages.stream().map(p -> "--add-opens=java.base/" + p + "=ALL-UNNAMED").toList();
  }

  /** The jars of a {@code lib} directory that {@code keep} accepts, as one class path. */
  static String classPath(Path lib, Predicate<String> keep) {
    if (!Files.isDirectory(lib)) {
      throw new ClusterException(
          lib + " is missing; build first: mvn -B -DskipTests -pl launcher -am package");
    }
    try (Stream<Path> jars = Files.list(lib)) {
      List<String> entries =
          jars.filter(p -> p.getFileName().toString().endsWith(".jar"))
              .filter(p -> keep.test(p.getFileName().toString()))
              .map(Path::toString)
              .sorted()
              .toList();
      return String.join(File.pathSeparator, entries);
    } catch (IOException e) {
      throw new ClusterException("cannot list " + lib + ": " + e.getMessage(), e);
    }
  }

  /**
   * Runs a short-lived tool to its end and returns its output (standard output and error).
   *
   * @throws ClusterException when it fails or outlives the timeout, with its output
   */
  static String runTool(
      List<String> command, Map<String, String> env, Duration timeout, String what) {
    Path output = null;
    try {
      output = Files.createTempFile("streamscore-tool", ".log");
      ProcessBuilder builder =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(output.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      builder.environment().putAll(env);
      Process process = builder.start();
      boolean exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!exited) {
        process.destroyForcibly();
      }
      String text = Files.readString(output, StandardCharsets.UTF_8);
      if (!exited || process.exitValue() != 0) {
        throw new ClusterException(
            "cannot "
                + what
                + (exited ? "" : " within " + timeout.toSeconds() + " s")
                + ":\n"
                + text);
      }
      return text;
    } catch (IOException e) {
      throw new ClusterException("cannot " + what + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ClusterException("interrupted while trying to " + what, e);
    } finally {
      if (output != null) {
        try {
          Files.deleteIfExists(output);
        } catch (IOException e) {
          // a temp file left behind
        }
      }
    }
  }

  /** The members' logback configuration, in the cluster's {@code conf} directory. */
  static void writeLogging(Layout layout) {
    Path file = layout.conf().resolve("logback.xml");
    String xml =
        String.join(
            "\n",
            "<configuration>",
            "  <appender name=\"OUT\" class=\"ch.qos.logback.core.ConsoleAppender\">",
            "    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n</pattern>"
                + "</encoder>",
            "  </appender>",
            "  <!-- One line per lifecycle event; everything else only when it goes wrong. -->",
            "  <logger name=\"kafka.server.KafkaRaftServer\" level=\"INFO\"/>",
            "  <logger name=\"org.apache.flink.runtime.entrypoint\" level=\"INFO\"/>",
            "  <logger name=\"org.apache.flink.runtime.taskexecutor.TaskManagerRunner\""
                + " level=\"INFO\"/>",
            "  <logger name=\"org.apache.flink.runtime.executiongraph.ExecutionGraph\""
                + " level=\"INFO\"/>",
            "  <logger name=\"org.apache.flink.runtime.checkpoint.CheckpointCoordinator\""
                + " level=\"WARN\"/>",
            "  <logger name=\"org.apache.kafka.clients.NetworkClient\" level=\"ERROR\"/>",
            "  <logger name=\"dev.streamscore\" level=\"INFO\"/>",
            "  <root level=\"WARN\"><appender-ref ref=\"OUT\"/></root>",
            "</configuration>",
            "");
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(file, xml, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ClusterException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }
}
