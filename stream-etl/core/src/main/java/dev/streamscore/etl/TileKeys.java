package dev.streamscore.etl;

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
    if (partitions <= 0) {
      throw new IllegalArgumentException("partitions must be positive, got " + partitions);
    }
    return (murmur2(entityId.getBytes(StandardCharsets.UTF_8)) & 0x7fffffff) % partitions;
  }

  /** Kafka's murmur2 (seed 0x9747b28c), so that our partitions match its partitioner. */
  static int murmur2(byte[] data) {
    int length = data.length;
    final int m = 0x5bd1e995;
    final int r = 24;
    int h = 0x9747b28c ^ length;
    int length4 = length / 4;
    for (int i = 0; i < length4; i++) {
      int i4 = i * 4;
      int k =
          (data[i4] & 0xff)
              + ((data[i4 + 1] & 0xff) << 8)
              + ((data[i4 + 2] & 0xff) << 16)
              + ((data[i4 + 3] & 0xff) << 24);
      k *= m;
      k ^= k >>> r;
      k *= m;
      h *= m;
      h ^= k;
    }
    int tail = length4 * 4;
    switch (length % 4) {
      case 3:
        h ^= (data[tail + 2] & 0xff) << 16;
      // fall through
      case 2:
        h ^= (data[tail + 1] & 0xff) << 8;
      // fall through
      case 1:
        h ^= data[tail] & 0xff;
        h *= m;
        break;
      default:
        break;
    }
    h ^= h >>> 13;
    h *= m;
    h ^= h >>> 15;
    return h;
  }
}
