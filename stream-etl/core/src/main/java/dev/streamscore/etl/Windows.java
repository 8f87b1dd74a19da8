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
    if (feature.column().isEmpty()) {
      long events = 0;
      long latest = 0;
      for (FeatureRow row : window) {
        events += row.getEventCount();
        latest = Math.max(latest, row.getMaxEventTimeMs());
      }
      return ok(Value.newBuilder().setLongValue(events).build(), events == 0 ? 0 : latest);
    }
    String column = feature.column().get();
    long n = 0;
    double sum = 0;
    double sumSquares = 0;
    double min = 0;
    double max = 0;
    Value last = null;
    long lastTime = 0;
    Union union = feature.aggregation() == Aggregation.APPROX_DISTINCT ? Sketches.union() : null;
    for (FeatureRow row : window) {
      ColumnPartial p = row.getColumnsOrDefault(column, null);
      if (p == null || p.getCount() == 0) {
        continue;
      }
      min = n == 0 ? p.getMin() : Math.min(min, p.getMin());
      max = n == 0 ? p.getMax() : Math.max(max, p.getMax());
      n += p.getCount();
      sum += p.getSum();
      sumSquares += p.getSumSquares();
      if (last == null || p.getLastTimeMs() >= lastTime) {
        last = p.getLast();
        lastTime = p.getLastTimeMs();
      }
      if (union != null && !p.getHllSketch().isEmpty()) {
        union.update(HllSketch.heapify(p.getHllSketch().toByteArray()));
      }
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
