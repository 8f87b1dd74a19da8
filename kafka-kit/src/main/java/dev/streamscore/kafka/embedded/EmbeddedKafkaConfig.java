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
 * @param saslSsl when present, the client listener on {@code port} is SASL_SSL with one SCRAM user,
 *     as a secured production cluster's would be; the broker's own traffic stays on an internal
 *     plaintext listener on 127.0.0.1
 */
public record EmbeddedKafkaConfig(
    int port,
    Optional<Path> logDir,
    int defaultPartitions,
    Map<String, String> overrides,
    Duration startTimeout,
    Optional<SaslSsl> saslSsl) {

  /**
   * A SASL_SSL client listener with SCRAM-SHA-256.
   *
   * @param certificateChain PEM: the broker's certificate chain, leaf first (valid for 127.0.0.1)
   * @param privateKey PEM: its PKCS#8 private key, unencrypted
   * @param trustStore PEM: the CA certificates clients trust the broker's chain with
   * @param username the one SCRAM user
   * @param password its password
   */
  public record SaslSsl(
      Path certificateChain, Path privateKey, Path trustStore, String username, String password) {
    public SaslSsl {
      Objects.requireNonNull(certificateChain, "certificateChain");
      Objects.requireNonNull(privateKey, "privateKey");
      Objects.requireNonNull(trustStore, "trustStore");
      if (username == null || !username.matches("[A-Za-z0-9._-]{1,64}")) {
        throw new IllegalArgumentException("username must be 1-64 of letters, digits, . _ -");
      }
      if (password == null || password.length() < 8 || password.matches(".*[\\s\"\\\\,\\]=].*")) {
        throw new IllegalArgumentException(
            "password must be at least 8 characters without spaces, quotes, backslashes, commas,"
                + " brackets or =");
      }
    }

    /** The connection settings a client of this listener needs (a {@code --kafka-config}). */
    public Map<String, String> clientSettings() {
      return Map.of(
          "security.protocol", "SASL_SSL",
          "sasl.mechanism", "SCRAM-SHA-256",
          "sasl.jaas.config",
              "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                  + username
                  + "\" password=\""
                  + password
                  + "\";",
          "ssl.truststore.type", "PEM",
          "ssl.truststore.location", trustStore.toAbsolutePath().toString());
    }
  }

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
    Objects.requireNonNull(saslSsl, "saslSsl");
  }

  /** A free port, a temporary directory, 2 partitions per auto-created topic, 60 s to start. */
  public static EmbeddedKafkaConfig defaults() {
    return new EmbeddedKafkaConfig(
        0, Optional.empty(), 2, Map.of(), Duration.ofSeconds(60), Optional.empty());
  }

  public EmbeddedKafkaConfig withPort(int newPort) {
    return new EmbeddedKafkaConfig(
        newPort, logDir, defaultPartitions, overrides, startTimeout, saslSsl);
  }

  public EmbeddedKafkaConfig withLogDir(Path dir) {
    return new EmbeddedKafkaConfig(
        port, Optional.of(dir), defaultPartitions, overrides, startTimeout, saslSsl);
  }

  public EmbeddedKafkaConfig withDefaultPartitions(int partitions) {
    return new EmbeddedKafkaConfig(port, logDir, partitions, overrides, startTimeout, saslSsl);
  }

  public EmbeddedKafkaConfig withOverride(String key, String value) {
    Map<String, String> copy = new HashMap<>(overrides);
    copy.put(key, value);
    return new EmbeddedKafkaConfig(port, logDir, defaultPartitions, copy, startTimeout, saslSsl);
  }

  public EmbeddedKafkaConfig withStartTimeout(Duration timeout) {
    return new EmbeddedKafkaConfig(port, logDir, defaultPartitions, overrides, timeout, saslSsl);
  }

  /** The client listener secured with SASL_SSL and SCRAM-SHA-256. */
  public EmbeddedKafkaConfig withSaslSsl(SaslSsl security) {
    return new EmbeddedKafkaConfig(
        port, logDir, defaultPartitions, overrides, startTimeout, Optional.of(security));
  }
}
