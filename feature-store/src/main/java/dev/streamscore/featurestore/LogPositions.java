package dev.streamscore.featurestore;

import dev.streamscore.etl.ServingTiles;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.proto.v1.EntityFeatures;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.LogPosition;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where a store's rows stand in the events logs: per lookup, the furthest row read of each events
 * partition; per events partition, the furthest row written ({@link FeatureStore.Applied}), kept in
 * the offsets column family under {@code applied/topic:partition} in the rows' own write batch.
 * Thread-safe for reads beside the one writer.
 */
final class LogPositions {
  /** Key prefix of the applied entries: no topic name holds a '/'. */
  static final String KEY_PREFIX = "applied/";

  private final Map<String, String> sourceTopics = new HashMap<>();
  private final Map<SourcePartition, FeatureStore.Applied> applied = new ConcurrentHashMap<>();

  LogPositions(Collection<ViewSpec> views) {
    for (ViewSpec view : views) {
      sourceTopics.put(view.name(), TopicNames.events(view.source()));
    }
  }

  static boolean isKey(byte[] key) {
    return new String(key, StandardCharsets.UTF_8).startsWith(KEY_PREFIX);
  }

  static byte[] key(SourcePartition partition) {
    return (KEY_PREFIX + partition).getBytes(StandardCharsets.UTF_8);
  }

  static byte[] value(FeatureStore.Applied at) {
    return ByteBuffer.allocate(16).putLong(at.nextOffset()).putLong(at.appendedMs()).array();
  }

  /** Takes one stored entry; false when the key is not one (the scan has passed them). */
  boolean load(byte[] key, byte[] value) {
    String text = new String(key, StandardCharsets.UTF_8);
    if (!text.startsWith(KEY_PREFIX)) {
      return false;
    }
    ByteBuffer v = ByteBuffer.wrap(value);
    applied.put(
        SourcePartition.parse(text.substring(KEY_PREFIX.length())),
        new FeatureStore.Applied(v.getLong(), v.getLong()));
    return true;
  }

  /**
   * Per events partition, the positions these rows reach beyond what has been applied. Rows of a
   * stale version count too: they were read, and the newer row already stored is further.
   */
  Map<SourcePartition, FeatureStore.Applied> reached(Collection<Map<String, FeatureRow>> rows) {
    Map<SourcePartition, FeatureStore.Applied> out = new HashMap<>();
    for (Map<String, FeatureRow> byTile : rows) {
      for (FeatureRow row : byTile.values()) {
        if (!hasPosition(row)) {
          continue;
        }
        SourcePartition from =
            new SourcePartition(sourceTopics.get(row.getView()), row.getSourcePartition());
        FeatureStore.Applied at = out.getOrDefault(from, applied.get(from));
        if (at == null || at.nextOffset() < row.getSourceNextOffset()) {
          out.put(
              from, new FeatureStore.Applied(row.getSourceNextOffset(), row.getSourceAppendedMs()));
        }
      }
    }
    return out;
  }

  /** Records positions once they are written. */
  void applied(Map<SourcePartition, FeatureStore.Applied> written) {
    applied.putAll(written);
  }

  Optional<FeatureStore.Applied> applied(SourcePartition partition) {
    return Optional.ofNullable(applied.get(partition));
  }

  Set<String> sourceTopics() {
    return new TreeSet<>(sourceTopics.values());
  }

  /**
   * Per events partition of the rows read, the greatest {@code source_next_offset}: the log
   * position the values stand at. Rows without one (a replay's) say nothing.
   */
  void addTo(EntityFeatures.Builder out, ServingTiles[] tilesByView) {
    Map<String, LogPosition> positions = null;
    for (ServingTiles tiles : tilesByView) {
      if (tiles == null) {
        continue;
      }
      // An entity's rows of a view come from one events partition: keep the furthest row only.
      int furthest = -1;
      for (int k = 0; k < tiles.size(); k++) {
        if (hasPosition(tiles.sourcePartition(k), tiles.sourceNextOffset(k))
            && (furthest < 0 || tiles.sourceNextOffset(k) > tiles.sourceNextOffset(furthest))) {
          furthest = k;
        }
      }
      if (furthest < 0) {
        continue;
      }
      String topic = sourceTopics.get(tiles.view().name());
      if (positions == null) {
        positions = new LinkedHashMap<>(2);
      }
      positions.merge(
          topic + ':' + tiles.sourcePartition(furthest),
          LogPosition.newBuilder()
              .setTopic(topic)
              .setPartition(tiles.sourcePartition(furthest))
              .setNextOffset(tiles.sourceNextOffset(furthest))
              .build(),
          (a, b) -> a.getNextOffset() >= b.getNextOffset() ? a : b);
    }
    if (positions != null) {
      out.addAllPositions(positions.values());
    }
  }

  /**
   * Whether a row says where its event was read. The features topics are open to any writer: a row
   * with a negative partition says nothing rather than stopping the materializer.
   */
  private static boolean hasPosition(FeatureRow row) {
    return hasPosition(row.getSourcePartition(), row.getSourceNextOffset());
  }

  private static boolean hasPosition(int partition, long nextOffset) {
    return nextOffset > 0 && partition >= 0;
  }
}
