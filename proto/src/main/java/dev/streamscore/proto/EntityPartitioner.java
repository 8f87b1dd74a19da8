package dev.streamscore.proto;

import java.nio.charset.StandardCharsets;

/**
 * The Kafka partition of an entity's records, computed as Kafka's default partitioner does for a
 * record keyed by the entity id: {@code toPositive(murmur2(utf8(entityId))) % partitions}. The ETL
 * jobs place events and tiles with it, and clients route requests to the scoring node holding an
 * entity's partition with it, so both agree without asking Kafka.
 */
public final class EntityPartitioner {
  private EntityPartitioner() {}

  /**
   * @throws IllegalArgumentException when {@code partitions} is not positive
   */
  public static int partition(String entityId, int partitions) {
    if (partitions <= 0) {
      throw new IllegalArgumentException("partitions must be positive, got " + partitions);
    }
    return (murmur2(entityId.getBytes(StandardCharsets.UTF_8)) & 0x7fffffff) % partitions;
  }

  /** Kafka's murmur2 (seed 0x9747b28c). */
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
