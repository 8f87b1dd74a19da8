package dev.streamscore.featurestore;

import dev.streamscore.proto.EntityPartitioner;
import dev.streamscore.proto.PartitionSet;
import java.util.Objects;
import java.util.Optional;

/**
 * Which entities a replica holds: those of every partition of the feature topics, or (on a node
 * started with {@code --partitions}) only those whose partition, by the topics' partitioner, is one
 * of {@code held}.
 *
 * @param held the partitions held; empty for all of them
 * @param partitions the feature topics' partition count (0 while unknown, with {@code held} empty)
 */
public record Ownership(Optional<PartitionSet> held, int partitions) {
  /** Every entity: a full replica. */
  public static final Ownership ALL = new Ownership(Optional.empty(), 0);

  public Ownership {
    Objects.requireNonNull(held, "held");
    if (held.isPresent() && (partitions <= 0 || held.get().max() >= partitions)) {
      throw new IllegalArgumentException(
          "the feature topics have "
              + partitions
              + " partitions (0.."
              + (partitions - 1)
              + "); cannot hold partitions "
              + held.get());
    }
  }

  /**
   * Why this replica cannot answer for {@code entityId}: its partition and the ones held; null when
   * it holds the entity.
   */
  public String refusal(String entityId) {
    if (held.isEmpty()) {
      return null;
    }
    int partition = EntityPartitioner.partition(entityId, partitions);
    if (held.get().contains(partition)) {
      return null;
    }
    return "'"
        + entityId
        + "' is in partition "
        + partition
        + " of the feature topics (of "
        + partitions
        + "); this node holds partitions "
        + held.get()
        + ": send it to a node that holds partition "
        + partition;
  }
}
