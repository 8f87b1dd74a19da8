package dev.streamscore.etl;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * An {@link EntityState} held in plain maps: for {@link Replay}, tests and engines without keyed
 * maps.
 */
public final class InMemoryEntityState implements EntityState {
  private long maxEventTime = Long.MIN_VALUE;
  private final Map<String, Long> seen = new HashMap<>();
  private final Map<Integer, TreeMap<Long, byte[]>> tiles = new HashMap<>();

  @Override
  public long maxEventTime() {
    return maxEventTime;
  }

  @Override
  public void maxEventTime(long eventTimeMs) {
    maxEventTime = eventTimeMs;
  }

  @Override
  public long seenAt(String eventId) {
    Long at = seen.get(eventId);
    return at == null ? Long.MIN_VALUE : at;
  }

  @Override
  public void markSeen(String eventId, long eventTimeMs) {
    seen.put(eventId, eventTimeMs);
  }

  @Override
  public void forgetSeenBefore(long eventTimeMs) {
    seen.values().removeIf(t -> t < eventTimeMs);
  }

  @Override
  public byte[] tile(int view, long tileStartMs) {
    TreeMap<Long, byte[]> viewTiles = tiles.get(view);
    return viewTiles == null ? null : viewTiles.get(tileStartMs);
  }

  @Override
  public void putTile(int view, long tileStartMs, byte[] row) {
    tiles.computeIfAbsent(view, v -> new TreeMap<>()).put(tileStartMs, row);
  }

  @Override
  public void removeTilesBefore(int view, long tileStartMs) {
    TreeMap<Long, byte[]> viewTiles = tiles.get(view);
    if (viewTiles != null) {
      viewTiles.headMap(tileStartMs).clear();
    }
  }

  /** Event ids currently remembered for dedupe. */
  public int seenCount() {
    return seen.size();
  }

  /** Open tiles currently held, over all views. */
  public int openTiles() {
    return tiles.values().stream().mapToInt(Map::size).sum();
  }
}
