package dev.streamscore.etl.flink;

import dev.streamscore.etl.EntityState;
import dev.streamscore.etl.SeenIdStore;
import dev.streamscore.etl.ViewSpec;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;

/**
 * The core's {@link EntityState} as jobs before one state value per entity kept it in Flink keyed
 * state: the current key's greatest event time, its seen event ids and its open tiles (one map per
 * view). The seen ids are still kept so ({@link #seenIds()}): a busy entity remembers thousands,
 * and writing them all into its value after every batch kept RocksDB busy compacting. The rest is
 * kept to read savepoints of earlier jobs: {@link #moveTo} hands an entity's greatest event time
 * and tiles to the one value and removes them.
 */
final class FlinkEntityState implements EntityState {
  private final ValueState<Long> maxEventTime;
  private final MapState<String, Long> seen;
  private final MapState<Long, byte[]>[] tiles;

  /**
   * The greatest event time's state name, whose restored keys say an earlier job's state is here.
   */
  static final String MAX_EVENT_TIME = "max-event-time";

  /**
   * The earlier layout's entries of the function whose {@code context} this is, registered under
   * their names (tiles per view, by name, so that added views keep the others' state).
   */
  @SuppressWarnings("unchecked")
  static FlinkEntityState registered(RuntimeContext context, List<ViewSpec> views) {
    MapState<Long, byte[]>[] tiles = new MapState[views.size()];
    for (int i = 0; i < tiles.length; i++) {
      tiles[i] =
          context.getMapState(
              new MapStateDescriptor<>(
                  "tiles." + views.get(i).name(),
                  Types.LONG,
                  PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
    }
    return new FlinkEntityState(
        context.getState(new ValueStateDescriptor<>(MAX_EVENT_TIME, Types.LONG)),
        context.getMapState(new MapStateDescriptor<>("seen", Types.STRING, Types.LONG)),
        tiles);
  }

  private FlinkEntityState(
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

  /** The current entity's seen ids, one map entry per id. */
  SeenIdStore seenIds() {
    return new SeenIdStore() {
      @Override
      public long seenAt(String eventId) {
        return FlinkEntityState.this.seenAt(eventId);
      }

      @Override
      public void markSeen(String eventId, long eventTimeMs) {
        FlinkEntityState.this.markSeen(eventId, eventTimeMs);
      }

      @Override
      public void forgetBefore(long eventTimeMs) {
        forgetSeenBefore(eventTimeMs);
      }
    };
  }

  /**
   * Copies the current entity's greatest event time and tiles into {@code state}, then removes them
   * here; its seen ids stay where they are.
   */
  void moveTo(EntityState state) {
    try {
      state.maxEventTime(maxEventTime());
      for (int view = 0; view < tiles.length; view++) {
        for (Map.Entry<Long, byte[]> tile : tiles[view].entries()) {
          state.putTile(view, tile.getKey(), tile.getValue());
        }
        tiles[view].clear();
      }
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
