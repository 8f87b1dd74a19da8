package dev.streamscore.launcher.cluster;

import java.util.List;
import java.util.Map;

/**
 * One OS process of the local cluster: how it starts and how to tell that it serves.
 *
 * @param name unique in the cluster ({@code kafka-1}, {@code flink-taskmanager}, {@code scoring-2},
 *     ...); names its log, pid file and data directory
 * @param command the full command line, starting with the {@code java} binary
 * @param env added to the inherited environment
 * @param port a port it listens on once up; 0 when it listens on none we know in advance
 * @param readyLine the log line that says it serves ({@code ready} for our roles; a log message
 *     after its {@code [logger context] } prefix for others); empty when its port says it
 */
record Member(
    String name, List<String> command, Map<String, String> env, int port, String readyLine) {
  Member {
    if (!name.matches("[a-z][a-z0-9-]*")) {
      throw new IllegalArgumentException("a member's name is lower-case words: " + name);
    }
    command = List.copyOf(command);
    env = Map.copyOf(env);
  }

  /** Whether {@code line} of its log says it serves. */
  boolean saysReady(String line) {
    return !readyLine.isEmpty() && (line.equals(readyLine) || line.endsWith("] " + readyLine));
  }

  /** The system property on its command line that tells its process apart from a reused pid. */
  static String marker(String name) {
    return "-Dstreamscore.cluster.member=" + name;
  }
}
