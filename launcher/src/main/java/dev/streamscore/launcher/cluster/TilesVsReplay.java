package dev.streamscore.launcher.cluster;

import dev.streamscore.etl.Replay;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.kafka.TopicReader;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongPredicate;

/**
 * What a cluster's {@code features.<view>} topics hold against what the core's replay of its {@code
 * events.<source>} topic says they must end with: the greatest version of each tile, normalized (no
 * processing time, producer or source position).
 */
public final class TilesVsReplay {
  private static final Duration TIMEOUT = Duration.ofMinutes(2);

  private TilesVsReplay() {}

  /** Feeds every committed event of {@code source}, in partition order, to each replay. */
  public static long replay(Map<String, Object> client, String source, List<Replay> replays) {
    return TopicReader.readAll(
        client,
        TopicNames.events(source),
        TIMEOUT,
        record -> {
          try {
            Event e = Event.parseFrom(record.value());
            replays.forEach(r -> r.accept(e));
          } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
            throw new AssertionError(ex);
          }
        });
  }

  /** The view's committed tiles whose start passes {@code starts}, by {@code entity@tileStart}. */
  public static Map<String, FeatureRow> committed(
      Map<String, Object> client, String view, LongPredicate starts) {
    Map<String, FeatureRow> tiles = new TreeMap<>();
    TopicReader.readAll(
        client,
        "features." + view,
        TIMEOUT,
        record -> {
          try {
            FeatureRow row = FeatureRow.parseFrom(record.value());
            if (starts.test(row.getTileStartMs())) {
              tiles.merge(
                  row.getEntityId() + "@" + row.getTileStartMs(),
                  normalized(row),
                  (a, b) -> a.getVersion() >= b.getVersion() ? a : b);
            }
          } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
            throw new AssertionError(ex);
          }
        });
    return tiles;
  }

  /** The replay's final tiles of the view whose start passes {@code starts}. */
  public static Map<String, FeatureRow> replayed(Replay replay, String view, LongPredicate starts) {
    Map<String, FeatureRow> tiles = new TreeMap<>();
    replay
        .finalRows(view)
        .forEach(
            (entity, byStart) ->
                byStart.forEach(
                    (start, row) -> {
                      if (starts.test(start)) {
                        tiles.put(entity + "@" + start, normalized(row));
                      }
                    }));
    return tiles;
  }

  /**
   * How two tile maps differ, briefly: counts of missing, extra and different tiles and a few
   * examples; empty when they are equal.
   */
  public static String difference(
      Map<String, FeatureRow> actual, Map<String, FeatureRow> expected) {
    List<String> missing = new ArrayList<>();
    List<String> different = new ArrayList<>();
    expected.forEach(
        (key, row) -> {
          FeatureRow got = actual.get(key);
          if (got == null) {
            missing.add(key);
          } else if (!got.equals(row)) {
            different.add(key + " (version " + got.getVersion() + " vs " + row.getVersion() + ")");
          }
        });
    List<String> extra =
        actual.keySet().stream().filter(k -> !expected.containsKey(k)).limit(3).toList();
    long extraCount = actual.keySet().stream().filter(k -> !expected.containsKey(k)).count();
    if (missing.isEmpty() && different.isEmpty() && extraCount == 0) {
      return "";
    }
    return String.format(
        "%d tiles expected: %d missing %s, %d different %s, %d extra %s",
        expected.size(),
        missing.size(),
        missing.stream().limit(3).toList(),
        different.size(),
        different.stream().limit(3).toList(),
        extraCount,
        extra);
  }

  /** Without what legitimately differs between engines and runs: times, producer, positions. */
  private static FeatureRow normalized(FeatureRow row) {
    return row.toBuilder()
        .clearUpdatedAtMs()
        .clearProducer()
        .clearSourcePartition()
        .clearSourceNextOffset()
        .clearSourceAppendedMs()
        .build();
  }
}
