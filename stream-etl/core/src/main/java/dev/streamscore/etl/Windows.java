package dev.streamscore.etl;

import dev.streamscore.proto.v1.ColumnPartial;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.FeatureStatus;
import dev.streamscore.proto.v1.FeatureValue;
import dev.streamscore.proto.v1.Value;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.datasketches.hll.HllSketch;
import org.apache.datasketches.hll.Union;

/**
 * Window values from tile rows: the read side of the feature semantics, used by the feature store,
 * by {@link Replay} and by every test that compares engines.
 *
 * <p>The value of a feature with window {@code w} at time {@code T} merges the tiles that start in
 * {@code [floor_t(T) - w, T)}: the complete tiles of the window and the tile holding {@code T}. It
 * is exact when {@code T} is a tile boundary, and at any {@code T} when no event of the current
 * tile has a time at or after {@code T} (as when {@code T} is now). {@link Replay#valueAt} is exact
 * at any {@code T}.
 */
public final class Windows {
  private Windows() {}

  /** Whether a tile starting at {@code tileStartMs} takes part in the window ending at T. */
  public static boolean inWindow(ViewSpec view, FeatureDef feature, long tileStartMs, long asOfMs) {
    return tileStartMs >= view.tileStart(asOfMs) - feature.windowMs() && tileStartMs < asOfMs;
  }

  /**
   * The feature's value at {@code asOfMs} from one entity's tile rows of the view, in any order;
   * rows outside the window are ignored.
   *
   * <p>count, sum and approx_distinct of an empty window are 0 (OK); mean, min, max, stddev and
   * last are MISSING. A last value whose event time is more than the view's TTL before {@code
   * asOfMs} is EXPIRED. {@code event_time_ms} is the greatest event time that contributed.
   */
  public static FeatureValue value(
      ViewSpec view, FeatureDef feature, List<FeatureRow> rows, long asOfMs) {
    List<FeatureRow> window = new ArrayList<>(rows.size());
    for (FeatureRow row : rows) {
      if (inWindow(view, feature, row.getTileStartMs(), asOfMs)) {
        window.add(row);
      }
    }
    // Merge in tile order: the sums are then the same whichever order the rows came in.
    window.sort(Comparator.comparingLong(FeatureRow::getTileStartMs));
    return merge(view, feature, window, asOfMs);
  }

  static FeatureValue merge(
      ViewSpec view, FeatureDef feature, List<FeatureRow> window, long asOfMs) {
    Accumulator acc = new Accumulator(feature);
    String column = feature.column().orElse(null);
    for (FeatureRow row : window) {
      if (column == null) {
        acc.addEvents(row.getEventCount(), row.getMaxEventTimeMs());
        continue;
      }
      ColumnPartial p = row.getColumnsOrDefault(column, null);
      if (p != null) {
        acc.add(
            p.getCount(),
            p.getSum(),
            p.getSumSquares(),
            p.getMin(),
            p.getMax(),
            p.getLast(),
            p.getLastTimeMs(),
            p.getHllSketch().isEmpty() ? null : p.getHllSketch().toByteArray());
      }
    }
    return acc.result(view, feature, asOfMs);
  }

  /**
   * The same merge over tiles as engines hold them (no {@code FeatureRow} built): {@code column} is
   * the feature's column index in the view's plan, or -1 for a count of events.
   */
  static FeatureValue merge(
      ViewSpec view, FeatureDef feature, int column, List<Tiles> window, long asOfMs) {
    Accumulator acc = new Accumulator(feature);
    for (Tiles t : window) {
      if (column < 0) {
        acc.addEvents(t.eventCount, t.maxEventTime);
      } else {
        acc.add(
            t.count[column],
            t.sum[column],
            t.sumSquares[column],
            t.min[column],
            t.max[column],
            t.last[column],
            t.lastTime[column],
            t.compactSketch(column));
      }
    }
    return acc.result(view, feature, asOfMs);
  }

  /**
   * As {@link #value(ViewSpec, FeatureDef, List, long)} over tiles decoded for serving: the same
   * window, merged in the same (tile) order, to the same value.
   *
   * @param column {@link ServingTiles#columnOf} of the feature
   */
  public static FeatureValue value(
      ViewSpec view, FeatureDef feature, int column, ServingTiles tiles, long asOfMs) {
    Accumulator acc = new Accumulator(feature);
    long from = view.tileStart(asOfMs) - feature.windowMs();
    for (int k = 0; k < tiles.size(); k++) {
      long start = tiles.tileStart(k);
      if (start < from || start >= asOfMs) {
        continue;
      }
      if (column < 0) {
        acc.addEvents(tiles.eventCount(k), tiles.maxEventTime(k));
        continue;
      }
      int i = tiles.partial(k, column);
      if (i >= 0) {
        acc.add(
            tiles.count(i),
            tiles.sum(i),
            tiles.sumSquares(i),
            tiles.min(i),
            tiles.max(i),
            tiles.last(i),
            tiles.lastTime(i),
            tiles.sketch(i));
      }
    }
    return acc.result(view, feature, asOfMs);
  }

  /** Partials merged in the order given; the value of the window they make up. */
  private static final class Accumulator {
    private long events;
    private long latest;
    private long n;
    private double sum;
    private double sumSquares;
    private double min;
    private double max;
    private Value last;
    private long lastTime;
    private final Union union;

    Accumulator(FeatureDef feature) {
      this.union = feature.aggregation() == Aggregation.APPROX_DISTINCT ? Sketches.union() : null;
    }

    void addEvents(long count, long maxEventTime) {
      events += count;
      latest = Math.max(latest, maxEventTime);
    }

    void add(
        long count,
        double pSum,
        double pSumSquares,
        double pMin,
        double pMax,
        Value pLast,
        long pLastTime,
        byte[] hll) {
      if (count == 0) {
        return;
      }
      min = n == 0 ? pMin : Math.min(min, pMin);
      max = n == 0 ? pMax : Math.max(max, pMax);
      n += count;
      sum += pSum;
      sumSquares += pSumSquares;
      if (last == null || pLastTime >= lastTime) {
        last = pLast;
        lastTime = pLastTime;
      }
      if (union != null && hll != null) {
        // From the compact form, as a reader of the rows merges them: a union's estimate may
        // depend on the order its coupons arrive in, and each form has its own order.
        union.update(HllSketch.heapify(hll));
      }
    }

    FeatureValue result(ViewSpec view, FeatureDef feature, long asOfMs) {
      if (feature.column().isEmpty()) {
        return ok(Value.newBuilder().setLongValue(events).build(), events == 0 ? 0 : latest);
      }
      if (n == 0) {
        return switch (feature.aggregation()) {
          case COUNT, APPROX_DISTINCT -> ok(Value.newBuilder().setLongValue(0).build(), 0);
          case SUM -> ok(Value.newBuilder().setDoubleValue(0).build(), 0);
          default ->
              FeatureValue.newBuilder().setStatus(FeatureStatus.FEATURE_STATUS_MISSING).build();
        };
      }
      return switch (feature.aggregation()) {
        case COUNT -> ok(Value.newBuilder().setLongValue(n).build(), lastTime);
        case SUM -> ok(number(sum), lastTime);
        case MEAN -> ok(number(sum / n), lastTime);
        case MIN -> ok(number(min), lastTime);
        case MAX -> ok(number(max), lastTime);
        case STDDEV -> {
          double mean = sum / n;
          yield ok(number(Math.sqrt(Math.max(0, sumSquares / n - mean * mean))), lastTime);
        }
        case LAST ->
            asOfMs - lastTime > view.ttlMs()
                ? FeatureValue.newBuilder()
                    .setStatus(FeatureStatus.FEATURE_STATUS_EXPIRED)
                    .setEventTimeMs(lastTime)
                    .build()
                : ok(last, lastTime);
        case APPROX_DISTINCT ->
            ok(Value.newBuilder().setLongValue(Math.round(union.getEstimate())).build(), lastTime);
      };
    }
  }

  private static Value number(double v) {
    return Value.newBuilder().setDoubleValue(v).build();
  }

  private static FeatureValue ok(Value value, long eventTimeMs) {
    return FeatureValue.newBuilder()
        .setValue(value)
        .setStatus(FeatureStatus.FEATURE_STATUS_OK)
        .setEventTimeMs(eventTimeMs)
        .build();
  }
}
