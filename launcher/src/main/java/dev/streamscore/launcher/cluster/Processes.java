package dev.streamscore.launcher.cluster;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Starts, finds and stops the cluster's processes through their pid files. A started process
 * outlives the command that started it: it has its own session (no terminal's Ctrl-C reaches it),
 * reads nothing, and appends its output to its log.
 */
final class Processes {
  private static final Duration POLL = Duration.ofMillis(200);

  private final Layout layout;
  private final Clock clock;

  /** The processes this object started, by member: their exit is certain, not inferred. */
  private final Map<String, Process> started = new ConcurrentHashMap<>();

  Processes(Layout layout, Clock clock) {
    this.layout = layout;
    this.clock = clock;
  }

  /** The member's process, when its pid file names a live process started as that member. */
  Optional<ProcessHandle> find(String name) {
    Path pidFile = layout.pidFile(name);
    if (!Files.isRegularFile(pidFile)) {
      return Optional.empty();
    }
    long pid;
    try {
      pid = Long.parseLong(Files.readString(pidFile).trim());
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
    String marker = Member.marker(name);
    return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(p -> startedAs(p, marker));
  }

  /**
   * Whether the process's command line carries the marker (or it is still Java's spawn helper or a
   * setsid that has not exec'd java yet: a process just started). {@code
   * ProcessHandle.Info.arguments()} is empty for command lines as long as a class path, so Linux's
   * {@code /proc} is read instead; without it, any live pid counts.
   */
  private static boolean startedAs(ProcessHandle process, String marker) {
    Path cmdline = Path.of("/proc", Long.toString(process.pid()), "cmdline");
    if (!Files.isDirectory(Path.of("/proc/self"))) {
      return true;
    }
    try {
      List<String> args =
          Arrays.asList(
              new String(Files.readAllBytes(cmdline), StandardCharsets.UTF_8).split("\0"));
      if (args.contains(marker)) {
        return true;
      }
      // Not exec'd yet: Java's spawn helper, then setsid, run before the member's own command.
      String first = args.isEmpty() ? "" : args.get(0);
      return first.isEmpty() || first.endsWith("setsid") || first.endsWith("jspawnhelper");
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Starts the member unless it runs already, and returns where its log continues from: {@code
   * ready} lines before that offset belong to earlier runs.
   */
  long start(Member member) {
    if (find(member.name()).isPresent()) {
      return -1;
    }
    Path log = layout.log(member.name());
    try {
      Files.createDirectories(log.getParent());
      Files.createDirectories(layout.pidFile(member.name()).getParent());
      Files.createDirectories(layout.data(member.name()));
      long offset = Files.exists(log) ? Files.size(log) : 0;
      List<String> command = new ArrayList<>();
      if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
        // Its own session: a Ctrl-C in the terminal that ran `up` never reaches it.
        command.add("/usr/bin/setsid");
      }
      command.addAll(member.command());
      ProcessBuilder builder =
          new ProcessBuilder(command)
              .directory(layout.data(member.name()).toFile())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
      builder.environment().putAll(member.env());
      Process process = builder.start();
      started.put(member.name(), process);
      Files.writeString(layout.pidFile(member.name()), process.pid() + "\n");
      return offset;
    } catch (IOException e) {
      throw new ClusterException("cannot start " + member.name() + ": " + e.getMessage(), e);
    }
  }

  /**
   * Waits until the member serves: its port accepts connections and its log has its ready line
   * after {@code logOffset} (a port alone can accept before the server handles requests: a Kafka
   * broker binds its listener before it has recovered its log).
   *
   * @throws ClusterException when it dies first or the deadline passes, with its log's last lines
   */
  void awaitReady(Member member, long logOffset, Duration timeout) {
    Instant deadline = clock.instant().plus(timeout);
    while (true) {
      Process process = started.get(member.name());
      // Gone only when both say so: the pid file's process is judged by its command line, which
      // is read from /proc while the process may be between spawn and exec.
      if (find(member.name()).isEmpty() && (process == null || !process.isAlive())) {
        throw new ClusterException(
            member.name()
                + " exited while starting"
                + (process == null ? "" : " (exit code " + process.exitValue() + ")")
                + "; its log ends with:\n"
                + tail(member.name()));
      }
      if (serves(member, Math.max(0, logOffset))) {
        return;
      }
      if (clock.instant().isAfter(deadline)) {
        throw new ClusterException(
            member.name()
                + " did not become ready within "
                + timeout.toSeconds()
                + " s; its log ends with:\n"
                + tail(member.name()));
      }
      pause();
    }
  }

  /** Whether the member's port accepts connections and, if it has one, its log said ready. */
  boolean serves(Member member, long logOffset) {
    if (member.port() > 0 && !accepts(member.port())) {
      return false;
    }
    return member.readyLine().isEmpty() || saidReady(member, logOffset);
  }

  /** SIGKILL ({@code force}) or SIGTERM; returns whether a process was there to signal. */
  boolean signal(String name, boolean force) {
    Optional<ProcessHandle> process = find(name);
    process.ifPresent(
        p -> {
          if (force) {
            p.destroyForcibly();
          } else {
            p.destroy();
          }
        });
    return process.isPresent();
  }

  /** Waits until the member's process is gone; false if it is still there at the deadline. */
  boolean awaitGone(String name, Duration timeout) {
    Instant deadline = clock.instant().plus(timeout);
    while (find(name).isPresent()) {
      if (clock.instant().isAfter(deadline)) {
        return false;
      }
      pause();
    }
    return true;
  }

  /** The last lines of the member's log. */
  String tail(String name) {
    Path log = layout.log(name);
    try {
      if (!Files.exists(log)) {
        return "(no log)";
      }
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(log unreadable: " + e.getMessage() + ")";
    }
  }

  static boolean accepts(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private boolean saidReady(Member member, long offset) {
    try (RandomAccessFile file = new RandomAccessFile(layout.log(member.name()).toFile(), "r")) {
      if (file.length() <= offset) {
        return false;
      }
      file.seek(offset);
      byte[] rest = new byte[(int) Math.min(file.length() - offset, 4 << 20)];
      file.readFully(rest);
      return new String(rest, StandardCharsets.UTF_8).lines().anyMatch(member::saysReady);
    } catch (IOException e) {
      return false;
    }
  }

  private static void pause() {
    try {
      Thread.sleep(POLL.toMillis()); // polling a child process; there is nothing to listen to
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ClusterException("interrupted while waiting", e);
    }
  }
}
