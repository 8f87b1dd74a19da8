package dev.streamscore.etl.flink;

import dev.streamscore.etl.EntityState;
import java.util.Iterator;
import java.util.Map;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.ValueState;

/**
 * The core's {@link EntityState} as jobs before one state value per entity kept it in Flink keyed
 * state: the current key's greatest event time, its seen event ids and its open tiles (one map per
 * view). Kept to read savepoints of those jobs: {@link #moveTo} hands an entity's entries to the
 * one value and removes them.
 */
final class FlinkEntityState implements EntityState {
  private final ValueState<Long> maxEventTime;
  private final MapState<String, Long> seen;
  private final MapState<Long, byte[]>[] tiles;

  FlinkEntityState(
      ValueState<Long> maxEventTime, MapState<String, Long> seen, MapState<Long, byte[]>[] tiles) {
    this.maxEventTime = maxEventTime;
    this.seen = seen;
    this.tiles = tiles;
  }

  @Override
  public long maxEventTime() {
    try {
      Long v = maxEventTime.value();
      return v == null ? Long.MIN_VALUE : v;
    } catch (Exception e) {
      throw failed("read the greatest event time", e);
    }
  }

  @Override
  public void maxEventTime(long eventTimeMs) {
    try {
      maxEventTime.update(eventTimeMs);
    } catch (Exception e) {
      throw failed("write the greatest event time", e);
    }
  }

  @Override
  public long seenAt(String eventId) {
    try {
      Long v = seen.get(eventId);
      return v == null ? Long.MIN_VALUE : v;
    } catch (Exception e) {
      throw failed("read a seen event id", e);
    }
  }

  @Override
  public void markSeen(String eventId, long eventTimeMs) {
    try {
      seen.put(eventId, eventTimeMs);
    } catch (Exception e) {
      throw failed("write a seen event id", e);
    }
  }

  @Override
  public void forgetSeenBefore(long eventTimeMs) {
    try {
      Iterator<Map.Entry<String, Long>> it = seen.iterator();
      while (it.hasNext()) {
        if (it.next().getValue() < eventTimeMs) {
          it.remove();
        }
      }
    } catch (Exception e) {
      throw failed("forget old event ids", e);
    }
  }

  @Override
  public byte[] tile(int view, long tileStartMs) {
    try {
      return tiles[view].get(tileStartMs);
    } catch (Exception e) {
      throw failed("read a tile", e);
    }
  }

  @Override
  public void putTile(int view, long tileStartMs, byte[] row) {
    try {
      tiles[view].put(tileStartMs, row);
    } catch (Exception e) {
      throw failed("write a tile", e);
    }
  }

  @Override
  public void removeTilesBefore(int view, long tileStartMs) {
    try {
      Iterator<Long> it = tiles[view].keys().iterator();
      while (it.hasNext()) {
        if (it.next() < tileStartMs) {
          it.remove();
        }
      }
    } catch (Exception e) {
      throw failed("drop closed tiles", e);
    }
  }

  /** Copies the current entity's entries into {@code state}, then removes them here. */
  void moveTo(EntityState state) {
    try {
      state.maxEventTime(maxEventTime());
      for (Map.Entry<String, Long> e : seen.entries()) {
        state.markSeen(e.getKey(), e.getValue());
      }
      for (int view = 0; view < tiles.length; view++) {
        for (Map.Entry<Long, byte[]> tile : tiles[view].entries()) {
          state.putTile(view, tile.getKey(), tile.getValue());
        }
        tiles[view].clear();
      }
      seen.clear();
      maxEventTime.clear();
    } catch (Exception e) {
      throw failed("move an entity's entries to its one state value", e);
    }
  }

  private static IllegalStateException failed(String what, Exception e) {
    return new IllegalStateException(
        "Flink keyed state: cannot " + what + ": " + e.getMessage(), e);
  }
}
