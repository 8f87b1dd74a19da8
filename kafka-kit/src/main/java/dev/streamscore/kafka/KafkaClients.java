package dev.streamscore.kafka;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;

/**
 * The Kafka client settings every client of this process shares besides {@code bootstrap.servers}:
 * how it reaches a secured cluster ({@code security.protocol}, {@code sasl.*}, {@code ssl.*}), from
 * a {@code --kafka-config} file. Each process of ours talks to one cluster with one identity, as
 * Kafka's own tools do with {@code --command-config}; so {@code main()} sets them once ({@link
 * #configure}) and every producer, consumer, admin client and Streams application of the process
 * starts from {@link #config}. Child processes (the ETL jobs) are given the same file ({@link
 * #file}).
 */
public final class KafkaClients {
  private record Source(Map<String, String> settings, Optional<Path> file) {}

  private static volatile Source source = new Source(Map.of(), Optional.empty());

  private KafkaClients() {}

  /**
   * Sets this process's connection settings.
   *
   * @param file where they were read from, for child processes
   */
  public static void configure(Map<String, String> settings, Optional<Path> file) {
    Objects.requireNonNull(file, "file");
    source = new Source(Map.copyOf(settings), file.map(Path::toAbsolutePath));
  }

  /** This process's connection settings: empty for a plaintext cluster. */
  public static Map<String, String> settings() {
    return source.settings();
  }

  /** The file the settings came from, if any. */
  public static Optional<Path> file() {
    return source.file();
  }

  /** A mutable client config: {@code bootstrap.servers} and this process's connection settings. */
  public static Map<String, Object> config(String bootstrap) {
    Map<String, Object> config = new HashMap<>(source.settings());
    config.put("bootstrap.servers", bootstrap);
    return config;
  }

  /** {@link #config} plus a client's own settings ({@code more} wins over the file). */
  public static Map<String, Object> config(String bootstrap, Map<String, ?> more) {
    Map<String, Object> config = config(bootstrap);
    config.putAll(more);
    return config;
  }

  /** {@link #config} as {@link Properties}. */
  public static Properties properties(String bootstrap) {
    Properties p = new Properties();
    p.putAll(config(bootstrap));
    return p;
  }
}
