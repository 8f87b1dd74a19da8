package dev.streamscore.etl;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/** A {@link TimelineState} in maps: for training rows, the consistency check and tests. */
public final class InMemoryTimeline implements TimelineState {
  private final InMemoryEntityState acceptance = new InMemoryEntityState();
  private final Map<Integer, TreeMap<Long, byte[]>> tiles = new java.util.HashMap<>();
  private final Map<Integer, byte[]> prefixes = new java.util.HashMap<>();
  private final TreeMap<Long, List<byte[]>> events = new TreeMap<>();
  private int kept;

  @Override
  public long maxEventTime() {
    return acceptance.maxEventTime();
  }

  @Override
  public void maxEventTime(long eventTimeMs) {
    acceptance.maxEventTime(eventTimeMs);
  }

  @Override
  public long seenAt(String eventId) {
    return acceptance.seenAt(eventId);
  }

  @Override
  public void markSeen(String eventId, long eventTimeMs) {
    acceptance.markSeen(eventId, eventTimeMs);
  }

  @Override
  public void forgetSeenBefore(long eventTimeMs) {
    acceptance.forgetSeenBefore(eventTimeMs);
  }

  @Override
  public byte[] tile(int view, long tileStartMs) {
    TreeMap<Long, byte[]> t = tiles.get(view);
    return t == null ? null : t.get(tileStartMs);
  }

  @Override
  public void putTile(int view, long tileStartMs, byte[] row) {
    tiles.computeIfAbsent(view, v -> new TreeMap<>()).put(tileStartMs, row);
  }

  @Override
  public NavigableMap<Long, byte[]> tiles(int view, long fromMs, long toMs) {
    TreeMap<Long, byte[]> t = tiles.get(view);
    return t == null || fromMs >= toMs
        ? java.util.Collections.emptyNavigableMap()
        : t.subMap(fromMs, true, toMs, false);
  }

  @Override
  public void dropTilesBefore(int view, long tileStartMs) {
    TreeMap<Long, byte[]> t = tiles.get(view);
    if (t != null) {
      t.headMap(tileStartMs).clear();
    }
  }

  @Override
  public byte[] prefix(int view) {
    return prefixes.get(view);
  }

  @Override
  public void prefix(int view, byte[] tile) {
    if (tile == null) {
      prefixes.remove(view);
    } else {
      prefixes.put(view, tile);
    }
  }

  @Override
  public void addEvent(long eventTimeMs, byte[] event) {
    events.computeIfAbsent(eventTimeMs, t -> new ArrayList<>(1)).add(event);
    kept++;
  }

  @Override
  public List<byte[]> events(long fromMs, long toMs) {
    List<byte[]> out = new ArrayList<>();
    if (fromMs < toMs) {
      events.subMap(fromMs, true, toMs, false).values().forEach(out::addAll);
    }
    return out;
  }

  @Override
  public void dropEventsBefore(long eventTimeMs) {
    var head = events.headMap(eventTimeMs);
    head.values().forEach(l -> kept -= l.size());
    head.clear();
  }

  /** Events kept for the open tiles. */
  public int keptEvents() {
    return kept;
  }
}
