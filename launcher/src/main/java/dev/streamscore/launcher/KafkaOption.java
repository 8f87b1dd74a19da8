package dev.streamscore.launcher;

import picocli.CommandLine.Option;

/** {@code --kafka}: the cluster a command that joins a running platform talks to. */
final class KafkaOption {
  @Option(
      names = "--kafka",
      paramLabel = "HOST:PORT[,HOST:PORT...]",
      defaultValue = "127.0.0.1:" + PlatformConfig.DEFAULT_KAFKA_PORT,
      description = "The Kafka cluster's bootstrap servers (default: ${DEFAULT-VALUE}).")
  String bootstrap;

  @picocli.CommandLine.Mixin KafkaConfigOption config;
}
