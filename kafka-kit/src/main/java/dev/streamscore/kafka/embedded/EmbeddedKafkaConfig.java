package dev.streamscore.kafka.embedded;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * How to start an {@link EmbeddedKafka} broker.
 *
 * @param port the client listener's port on 127.0.0.1; 0 picks a free one
 * @param logDir where the broker keeps its logs and metadata; empty means a temporary directory
 *     that is deleted on close. A given directory is formatted on first use and reused afterwards,
 *     so its topics and records survive a restart.
 * @param defaultPartitions partitions of auto-created topics
 * @param overrides extra broker properties (for example {@code log.retention.ms}); the listener,
 *     role and directory properties are owned by this class and cannot be overridden
 * @param startTimeout how long start-up may take before it fails
 */
public record EmbeddedKafkaConfig(
    int port,
    Optional<Path> logDir,
    int defaultPartitions,
    Map<String, String> overrides,
    Duration startTimeout) {

  static final Set<String> RESERVED =
      Set.of(
          "process.roles",
          "node.id",
          "listeners",
          "advertised.listeners",
          "controller.listener.names",
          "controller.quorum.voters",
          "controller.quorum.bootstrap.servers",
          "listener.security.protocol.map",
          "inter.broker.listener.name",
          "log.dirs",
          "log.dir",
          "metadata.log.dir");

  public EmbeddedKafkaConfig {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
    }
    Objects.requireNonNull(logDir, "logDir");
    if (defaultPartitions < 1) {
      throw new IllegalArgumentException(
          "defaultPartitions must be at least 1, got " + defaultPartitions);
    }
    for (String key : overrides.keySet()) {
      if (RESERVED.contains(key)) {
        throw new IllegalArgumentException(
            "broker property '" + key + "' is set by the embedded broker and cannot be overridden");
      }
    }
    overrides = Map.copyOf(overrides);
    if (startTimeout.isNegative() || startTimeout.isZero()) {
      throw new IllegalArgumentException("startTimeout must be positive, got " + startTimeout);
    }
  }

  /** A free port, a temporary directory, 2 partitions per auto-created topic, 60 s to start. */
  public static EmbeddedKafkaConfig defaults() {
    return new EmbeddedKafkaConfig(0, Optional.empty(), 2, Map.of(), Duration.ofSeconds(60));
  }

  public EmbeddedKafkaConfig withPort(int newPort) {
    return new EmbeddedKafkaConfig(newPort, logDir, defaultPartitions, overrides, startTimeout);
  }

  public EmbeddedKafkaConfig withLogDir(Path dir) {
    return new EmbeddedKafkaConfig(
        port, Optional.of(dir), defaultPartitions, overrides, startTimeout);
  }

  public EmbeddedKafkaConfig withDefaultPartitions(int partitions) {
    return new EmbeddedKafkaConfig(port, logDir, partitions, overrides, startTimeout);
  }

  public EmbeddedKafkaConfig withOverride(String key, String value) {
    Map<String, String> copy = new HashMap<>(overrides);
    copy.put(key, value);
    return new EmbeddedKafkaConfig(port, logDir, defaultPartitions, copy, startTimeout);
  }

  public EmbeddedKafkaConfig withStartTimeout(Duration timeout) {
    return new EmbeddedKafkaConfig(port, logDir, defaultPartitions, overrides, timeout);
  }
}
