package dev.streamscore.etl;

import dev.streamscore.proto.EntityPartitioner;
import java.nio.charset.StandardCharsets;

/**
 * Kafka keys and partitions of {@code features.<view>} records. The key is {@code <entity id>@<tile
 * start ms>} in UTF-8, so compaction keeps one record per tile; the partition is the one Kafka's
 * default partitioner gives the entity id alone, so all tiles of an entity share a partition with
 * its events.
 */
public final class TileKeys {
  private TileKeys() {}

  /** The record key of a tile. */
  public static byte[] key(String entityId, long tileStartMs) {
    return (entityId + "@" + tileStartMs).getBytes(StandardCharsets.UTF_8);
  }

  /**
   * The partition of an entity's records: {@code toPositive(murmur2(utf8(entityId))) % partitions},
   * as Kafka's default partitioner computes it for a record keyed by the entity id.
   */
  public static int partition(String entityId, int partitions) {
    return EntityPartitioner.partition(entityId, partitions);
  }
}
