package dev.streamscore.featurestore;

import dev.streamscore.etl.ServingTiles;
import dev.streamscore.etl.ViewSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import org.rocksdb.RocksIterator;

/**
 * One thread's means of reading an entity's tiles for serving: a {@link ServingTiles} per view (one
 * entity's tiles of a view at a time) and direct buffers RocksDB copies keys and values into, where
 * {@code key()} and {@code value()} would allocate two arrays per tile. Not thread-safe: the store
 * keeps one per thread.
 */
final class ServingReader {
  private final Map<String, ServingTiles> byView = new HashMap<>();
  private ByteBuffer key = ByteBuffer.allocateDirect(256);
  private ByteBuffer value = ByteBuffer.allocateDirect(16 * 1024);

  /**
   * The entity's tiles of {@code view} starting in {@code [fromMs, toMs)}, oldest first, in this
   * thread's buffer for the view (valid until the next read of the same view).
   *
   * @throws FeatureStoreException naming {@code store} when a stored row is not a {@code
   *     FeatureRow}
   */
  ServingTiles read(
      RocksIterator it, ViewSpec view, String entityId, long fromMs, long toMs, String store) {
    ServingTiles into = byView.computeIfAbsent(view.name(), v -> new ServingTiles(view));
    into.clear();
    if (fromMs >= toMs) {
      return into;
    }
    byte[] upper = TileKey.of(entityId, toMs);
    for (it.seek(TileKey.of(entityId, fromMs)); it.isValid(); it.next()) {
      key = read(it, key, true);
      if (atOrAfter(key, upper)) {
        break;
      }
      value = read(it, value, false);
      try {
        into.add(value);
      } catch (IOException e) {
        throw new FeatureStoreException(store, "read a stored tile row", e);
      }
    }
    return into;
  }

  /** Whether {@code key} sorts at or after {@code bound}, as unsigned bytes (RocksDB's order). */
  static boolean atOrAfter(ByteBuffer key, byte[] bound) {
    int n = Math.min(key.remaining(), bound.length);
    for (int i = 0; i < n; i++) {
      int c = Integer.compare(key.get(i) & 0xff, bound[i] & 0xff);
      if (c != 0) {
        return c > 0;
      }
    }
    return key.remaining() >= bound.length;
  }

  /** Reads into {@code buffer}, growing it when the entry is larger; positioned at the start. */
  private static ByteBuffer read(RocksIterator it, ByteBuffer buffer, boolean isKey) {
    buffer.clear();
    int size = isKey ? it.key(buffer) : it.value(buffer);
    if (size > buffer.capacity()) {
      buffer = ByteBuffer.allocateDirect(Integer.highestOneBit(size) * 2);
      size = isKey ? it.key(buffer) : it.value(buffer);
    }
    buffer.position(0).limit(size);
    return buffer;
  }
}
