package dev.streamscore.featurestore;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Keys of a view's column family: {@code [int length][entity id UTF-8][long tile start with the
 * sign bit flipped]}, so one entity's tiles are adjacent and ordered by time (RocksDB compares
 * bytes unsigned, hence the flipped sign bit for negative times).
 */
final class TileKey {
  private TileKey() {}

  static byte[] of(String entityId, long tileStartMs) {
    byte[] entity = entityId.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(4 + entity.length + 8)
        .putInt(entity.length)
        .put(entity)
        .putLong(tileStartMs ^ Long.MIN_VALUE)
        .array();
  }

  /** The tile start of a key. */
  static long tileStart(byte[] key) {
    return ByteBuffer.wrap(key, key.length - 8, 8).getLong() ^ Long.MIN_VALUE;
  }
}
