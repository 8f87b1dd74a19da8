package dev.streamscore.launcher;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What {@code streamscore up} runs.
 *
 * @param externalKafka bootstrap servers of an existing cluster; empty starts the embedded broker
 * @param dataDir where state survives restarts; empty means a temporary directory removed on exit
 * @param kafkaPort the embedded broker's port on 127.0.0.1 (0: any free port)
 * @param connectTimeout how long to wait for an external cluster to answer
 * @param spec the feature-definition spec file; empty uses the shipped payments spec
 */
record PlatformConfig(
    Optional<String> externalKafka,
    Optional<Path> dataDir,
    int kafkaPort,
    Duration connectTimeout,
    Optional<Path> spec) {

  static final int DEFAULT_KAFKA_PORT = 9092;
  private static final Pattern BOOTSTRAP =
      Pattern.compile("[A-Za-z0-9._\\-\\[\\]:]+:\\d{1,5}(,[A-Za-z0-9._\\-\\[\\]:]+:\\d{1,5})*");

  PlatformConfig {
    Objects.requireNonNull(externalKafka, "externalKafka");
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(spec, "spec");
    externalKafka.ifPresent(
        servers -> {
          if (!BOOTSTRAP.matcher(servers).matches()) {
            throw new StartupException(
                "--kafka must be host:port[,host:port...], got '" + servers + "'");
          }
        });
    if (kafkaPort < 0 || kafkaPort > 65535) {
      throw new StartupException("--kafka-port must be between 0 and 65535, got " + kafkaPort);
    }
    if (connectTimeout.isNegative() || connectTimeout.isZero()) {
      throw new StartupException("the Kafka connect timeout must be positive");
    }
  }

  boolean embeddedKafka() {
    return externalKafka.isEmpty();
  }
}
