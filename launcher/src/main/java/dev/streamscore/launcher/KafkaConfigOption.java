package dev.streamscore.launcher;

import dev.streamscore.etl.KafkaSettings;
import dev.streamscore.kafka.KafkaClients;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * {@code --kafka-config}: how every Kafka client of the command, and the ETL jobs it starts, reach
 * a secured cluster. Applied by {@link Main} before the command runs ({@link #apply}).
 */
final class KafkaConfigOption {
  static final String NAME = "--kafka-config";

  @Option(
      names = NAME,
      paramLabel = "FILE",
      description =
          "Kafka client settings for a secured cluster, as for Kafka's own tools:"
              + " security.protocol, sasl.* (SCRAM), ssl.* (trust store, mutual TLS).")
  Path file;

  /**
   * Sets the process's Kafka connection settings from the command's {@code --kafka-config}, or
   * none: a command run in the same JVM after another never inherits its settings.
   *
   * @throws StartupException naming the file and what is wrong with it
   */
  static void apply(CommandLine.ParseResult command) {
    if (!command.hasMatchedOption(NAME)) {
      KafkaClients.configure(Map.of(), Optional.empty());
      return;
    }
    Path file = command.matchedOptionValue(NAME, null);
    try {
      KafkaClients.configure(KafkaSettings.load(file), Optional.of(file));
    } catch (IllegalArgumentException | UncheckedIOException e) {
      throw new StartupException(e.getMessage(), e);
    }
  }
}
