package dev.streamscore.etl;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A Kafka client config file ({@code --kafka-config}): how every client of a process, and both ETL
 * jobs, reach a secured cluster — {@code security.protocol}, {@code sasl.*}, {@code ssl.*}
 * (SASL_SSL with SCRAM, or mutual TLS) and a few connection settings.
 *
 * <p>Only connection settings are accepted: a file that set, say, {@code acks} or {@code
 * isolation.level} would silently change the platform's delivery guarantees, so such keys are
 * refused, naming the key.
 */
public final class KafkaSettings {
  private static final Set<String> PREFIXES = Set.of("security.", "sasl.", "ssl.");
  private static final Set<String> KEYS =
      Set.of(
          "client.dns.lookup",
          "connections.max.idle.ms",
          "reconnect.backoff.ms",
          "reconnect.backoff.max.ms",
          "socket.connection.setup.timeout.ms",
          "socket.connection.setup.timeout.max.ms");

  private KafkaSettings() {}

  /**
   * The connection settings in a properties file.
   *
   * @throws IllegalArgumentException naming the file and what is wrong with it
   * @throws UncheckedIOException when it cannot be read
   */
  public static Map<String, String> load(Path file) {
    Properties p = new Properties();
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(in);
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(file + " is not UTF-8 text", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read Kafka client config " + file + ": " + e, e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
    Map<String, String> settings = new TreeMap<>();
    for (String key : p.stringPropertyNames()) {
      if (!KEYS.contains(key) && PREFIXES.stream().noneMatch(key::startsWith)) {
        throw new IllegalArgumentException(
            file
                + ": '"
                + key
                + "' is not a connection setting; the file may set security.*, sasl.*, ssl.*, "
                + String.join(", ", new TreeSet<>(KEYS)));
      }
      settings.put(key, p.getProperty(key));
    }
    return Map.copyOf(settings);
  }
}
