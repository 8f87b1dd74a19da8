package dev.streamscore.scoring;

import dev.streamscore.proto.v1.Freshness;
import java.util.Optional;

/**
 * How far a node's stored features are behind the events log (the materializer's {@code
 * freshness}): answered per request for the partitions holding its entities.
 */
@FunctionalInterface
public interface LogProgress {
  /** Nothing known: predictions carry no freshness. */
  LogProgress UNKNOWN = (topic, entityId) -> Optional.empty();

  /** For the partition of {@code sourceTopic} holding {@code entityId}; empty when unknown. */
  Optional<Freshness> freshness(String sourceTopic, String entityId);
}
