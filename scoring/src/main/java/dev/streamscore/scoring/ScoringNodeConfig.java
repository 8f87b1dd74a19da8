package dev.streamscore.scoring;

import dev.streamscore.modelsync.ModelAlias;
import dev.streamscore.proto.PartitionSet;
import dev.streamscore.scoring.monitor.MonitorConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A {@link ScoringNode}'s settings.
 *
 * @param nodeId how the node names itself in predictions and to the registry
 * @param dataDir the node's own directory: {@code feature-store/}, {@code models/}, {@code
 *     stream-scoring/}
 * @param kafka the cluster with the feature topics and the prediction topics; empty when the caller
 *     writes the replica and takes the predictions itself (benchmarks, tests)
 * @param registry the model registry's {@code host:port}
 * @param registryToken the registry's write token, for the node's status reports
 * @param aliases the model aliases to serve; empty for every alias in the registry
 * @param registryPoll how often to poll the registry while its watch stream is down
 * @param streamScoring the alias stream scoring scores events with, if the node runs it
 * @param grpcInputLog whether gRPC predictions are logged with their input vectors (stream
 *     predictions always are)
 * @param partitions the partitions of the feature topics the node holds and answers for; empty for
 *     all of them (required with stream scoring)
 * @param monitor if present, the node watches every model's prediction log for drift against the
 *     versions' reference profiles
 */
public record ScoringNodeConfig(
    String nodeId,
    Path dataDir,
    Optional<String> kafka,
    String registry,
    Optional<String> registryToken,
    List<ModelAlias> aliases,
    Duration registryPoll,
    Optional<ModelAlias> streamScoring,
    ScoringServer.InputLog grpcInputLog,
    Optional<PartitionSet> partitions,
    Optional<MonitorConfig> monitor) {
  public ScoringNodeConfig {
    Objects.requireNonNull(monitor, "monitor");
    if (monitor.isPresent() && kafka.isEmpty()) {
      throw new IllegalArgumentException("the monitor reads the prediction log; give a cluster");
    }
    Objects.requireNonNull(grpcInputLog, "grpcInputLog");
    if (nodeId == null || nodeId.isBlank()) {
      throw new IllegalArgumentException("nodeId must not be empty");
    }
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(kafka, "kafka");
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(registryToken, "registryToken");
    aliases = List.copyOf(aliases);
    if (registryPoll.isNegative() || registryPoll.isZero()) {
      throw new IllegalArgumentException("registryPoll must be positive, got " + registryPoll);
    }
    Objects.requireNonNull(streamScoring, "streamScoring");
    if (streamScoring.isPresent() && kafka.isEmpty()) {
      throw new IllegalArgumentException("stream scoring reads and writes Kafka; give a cluster");
    }
    Objects.requireNonNull(partitions, "partitions");
    if (partitions.isPresent() && streamScoring.isPresent()) {
      // Kafka Streams assigns the events' partitions to nodes as it likes, not as they hold them.
      throw new IllegalArgumentException(
          "stream scoring reads every partition; run it on nodes that hold them all");
    }
  }

  /** Every alias in the registry, polled every 5 s while the watch is down, no stream scoring. */
  public static ScoringNodeConfig of(
      String nodeId, Path dataDir, Optional<String> kafka, String registry) {
    return new ScoringNodeConfig(
        nodeId,
        dataDir,
        kafka,
        registry,
        Optional.empty(),
        List.of(),
        Duration.ofSeconds(5),
        Optional.empty(),
        ScoringServer.InputLog.OFF,
        Optional.empty(),
        Optional.empty());
  }

  public ScoringNodeConfig withRegistryToken(Optional<String> token) {
    return new ScoringNodeConfig(
        nodeId,
        dataDir,
        kafka,
        registry,
        token,
        aliases,
        registryPoll,
        streamScoring,
        grpcInputLog,
        partitions,
        monitor);
  }

  public ScoringNodeConfig withAliases(List<ModelAlias> aliases) {
    return new ScoringNodeConfig(
        nodeId,
        dataDir,
        kafka,
        registry,
        registryToken,
        aliases,
        registryPoll,
        streamScoring,
        grpcInputLog,
        partitions,
        monitor);
  }

  public ScoringNodeConfig withRegistryPoll(Duration poll) {
    return new ScoringNodeConfig(
        nodeId,
        dataDir,
        kafka,
        registry,
        registryToken,
        aliases,
        poll,
        streamScoring,
        grpcInputLog,
        partitions,
        monitor);
  }

  public ScoringNodeConfig withGrpcInputLog(ScoringServer.InputLog log) {
    return new ScoringNodeConfig(
        nodeId,
        dataDir,
        kafka,
        registry,
        registryToken,
        aliases,
        registryPoll,
        streamScoring,
        log,
        partitions,
        monitor);
  }

  public ScoringNodeConfig withStreamScoring(Optional<ModelAlias> alias) {
    return new ScoringNodeConfig(
        nodeId,
        dataDir,
        kafka,
        registry,
        registryToken,
        aliases,
        registryPoll,
        alias,
        grpcInputLog,
        partitions,
        monitor);
  }

  public ScoringNodeConfig withMonitor(Optional<MonitorConfig> monitor) {
    return new ScoringNodeConfig(
        nodeId,
        dataDir,
        kafka,
        registry,
        registryToken,
        aliases,
        registryPoll,
        streamScoring,
        grpcInputLog,
        partitions,
        monitor);
  }

  public ScoringNodeConfig withPartitions(Optional<PartitionSet> held) {
    return new ScoringNodeConfig(
        nodeId,
        dataDir,
        kafka,
        registry,
        registryToken,
        aliases,
        registryPoll,
        streamScoring,
        grpcInputLog,
        held,
        monitor);
  }
}
