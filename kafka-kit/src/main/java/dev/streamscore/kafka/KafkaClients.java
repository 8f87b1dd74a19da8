package dev.streamscore.kafka;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The Kafka client settings every client of this process shares besides {@code bootstrap.servers}:
 * how it reaches a secured cluster ({@code security.protocol}, {@code sasl.*}, {@code ssl.*}), read
 * from a properties file ({@code --kafka-config}). Each process of ours talks to one cluster with
 * one identity, as Kafka's own tools do with {@code --command-config}; so {@code main()} sets them
 * once ({@link #configure}) and every producer, consumer, admin client and Streams application asks
 * for them through {@link #config}.
 *
 * <p>Only connection settings are accepted: a file that set, say, {@code acks} or {@code
 * isolation.level} would silently change the platform's delivery guarantees, so such keys are
 * refused.
 */
public final class KafkaClients {
  private static final Set<String> PREFIXES = Set.of("security.", "sasl.", "ssl.");
  private static final Set<String> KEYS =
      Set.of(
          "client.dns.lookup",
          "connections.max.idle.ms",
          "reconnect.backoff.ms",
          "reconnect.backoff.max.ms",
          "socket.connection.setup.timeout.ms",
          "socket.connection.setup.timeout.max.ms");

  private static volatile Map<String, String> settings = Map.of();

  private KafkaClients() {}

  /**
   * Reads connection settings from a properties file.
   *
   * @throws IllegalArgumentException naming the file and the key that is not a connection setting
   * @throws UncheckedIOException when it cannot be read
   */
  public static Map<String, String> load(Path file) {
    Properties p = new Properties();
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(in);
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new IllegalArgumentException(file + " is not UTF-8 text", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read Kafka client config " + file + ": " + e, e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
    Map<String, String> out = new TreeMap<>();
    for (String key : p.stringPropertyNames()) {
      if (!allowed(key)) {
        throw new IllegalArgumentException(
            file
                + ": '"
                + key
                + "' is not a connection setting; the file may set security.*, sasl.*, ssl.*"
                + " and "
                + String.join(", ", new TreeSet<>(KEYS)));
      }
      out.put(key, p.getProperty(key));
    }
    return Map.copyOf(out);
  }

  /** Sets this process's connection settings (from {@link #load}); {@code main()} calls it. */
  public static void configure(Map<String, String> connection) {
    for (String key : connection.keySet()) {
      if (!allowed(key)) {
        throw new IllegalArgumentException("'" + key + "' is not a connection setting");
      }
    }
    settings = Map.copyOf(connection);
  }

  /** This process's connection settings: empty for a plaintext cluster. */
  public static Map<String, String> settings() {
    return settings;
  }

  /** A mutable client config: {@code bootstrap.servers} and this process's connection settings. */
  public static Map<String, Object> config(String bootstrap) {
    Map<String, Object> config = new HashMap<>(settings);
    config.put("bootstrap.servers", bootstrap);
    return config;
  }

  /** {@link #config} as {@link Properties}. */
  public static Properties properties(String bootstrap) {
    Properties p = new Properties();
    p.putAll(config(bootstrap));
    return p;
  }

  private static boolean allowed(String key) {
    return KEYS.contains(key) || PREFIXES.stream().anyMatch(key::startsWith);
  }
}
