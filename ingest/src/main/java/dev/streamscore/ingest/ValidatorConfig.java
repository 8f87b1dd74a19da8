package dev.streamscore.ingest;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How to run the validator.
 *
 * @param bootstrapServers the Kafka cluster
 * @param stateDir Kafka Streams' state directory: it keeps the instance's process id, so a restart
 *     reuses its transactional ids and fences a crashed run's open transaction at once. One per
 *     instance, kept across restarts
 * @param partitions partitions of the raw and events topics it creates (existing topics are kept)
 * @param dlqTopic the dead-letter topic
 * @param applicationId the Kafka Streams application id (its consumer group and transactional ids)
 * @param startTimeout how long topic creation and start-up may take
 */
public record ValidatorConfig(
    String bootstrapServers,
    Path stateDir,
    int partitions,
    String dlqTopic,
    String applicationId,
    Duration startTimeout) {

  public ValidatorConfig {
    Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    Objects.requireNonNull(stateDir, "stateDir");
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be at least 1, got " + partitions);
    }
    if (dlqTopic == null || dlqTopic.isBlank()) {
      throw new IllegalArgumentException("dlqTopic must not be blank");
    }
    if (applicationId == null || applicationId.isBlank()) {
      throw new IllegalArgumentException("applicationId must not be blank");
    }
  }

  /**
   * 4 partitions, {@code events.dlq}, application id {@code streamscore-validator}, 120 s (after a
   * crash, the broker recovers its logs and the group waits out the dead member first).
   */
  public static ValidatorConfig defaults(String bootstrapServers, Path stateDir) {
    return new ValidatorConfig(
        bootstrapServers,
        stateDir,
        4,
        ValidatorTopology.DEFAULT_DLQ,
        "streamscore-validator",
        Duration.ofSeconds(120));
  }
}
