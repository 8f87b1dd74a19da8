package dev.streamscore.benchmarks;

import dev.streamscore.featurestore.FeatureStore;
import dev.streamscore.proto.v1.FeatureRow;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;

/**
 * Writes the same tile rows of one view to the RocksDB store and to Redis ({@code HSET
 * <view>:<entity> <tile start> <row>}, as a Feast-style online store keeps them), in batches of
 * 10,000, then compacts the store as the materializer does after a bootstrap.
 */
final class BaselineLoader implements AutoCloseable {
  private final FeatureStore store;
  private final Pipeline pipeline;
  private final String view;
  private final List<FeatureRow> batch = new ArrayList<>();

  BaselineLoader(FeatureStore store, Jedis jedis, String view) {
    this.store = store;
    this.pipeline = jedis.pipelined();
    this.view = view;
  }

  /** Takes the rows of {@code view}; others are ignored. */
  void add(List<FeatureRow> rows) {
    for (FeatureRow row : rows) {
      if (!row.getView().equals(view)) {
        continue;
      }
      batch.add(row);
      pipeline.hset(
          (view + ":" + row.getEntityId()).getBytes(StandardCharsets.UTF_8),
          Long.toString(row.getTileStartMs()).getBytes(StandardCharsets.UTF_8),
          row.toByteArray());
    }
    if (batch.size() >= 10_000) {
      flush();
    }
  }

  private void flush() {
    store.write(batch, Map.of());
    batch.clear();
    pipeline.sync();
  }

  /** Writes what is left and compacts the store, so no compaction competes with lookups. */
  @Override
  public void close() {
    flush();
    store.compact();
  }
}
