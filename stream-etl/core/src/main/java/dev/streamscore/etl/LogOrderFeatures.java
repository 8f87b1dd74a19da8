package dev.streamscore.etl;

import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureStatus;
import dev.streamscore.proto.v1.FeatureValue;
import dev.streamscore.proto.v1.Value;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The log-order rule, which stream scoring serves and training rows follow by default: an event's
 * features are its views' window values at its event time T over exactly the events of its entity
 * that precede it in the entity's log (its partition's order), accepted as the ETL accepts them.
 * The window is the core's: the tiles starting in {@code [floor_t(T) - w, floor_t(T))} plus the
 * preceding events of T's own tile with time before T. Events that come later in the log never
 * count, whatever their time; so a prediction made when the event arrived and a training row built
 * later from the log see the same events, bit for bit.
 *
 * <p>An event that is LATE for a view (more than the view's allowed lateness behind its entity's
 * greatest event time: the ETL leaves it out of that view) gets that view's features MISSING: the
 * tiles it would read are closed and their events forgotten.
 *
 * <p>Per entity the rule needs a {@link Timeline}: the ETL's acceptance state, the view's tiles as
 * far back as its longest window reaches from its open tiles, and the accepted events of the open
 * tiles. Use it as {@code valuesAt} for the next event, then {@link #append} that event. Immutable
 * and thread-safe; a timeline is used by one thread at a time.
 */
public final class LogOrderFeatures {
  private final FeatureProcessor processor;
  private final ViewPlan[] views;
  private final Map<String, Integer> numbers = new HashMap<>();

  /** Cleaned columns any view reads: the only ones a timeline keeps of its events. */
  private final boolean[] kept;

  /** Per view, each feature's column index in the view's plan (-1: a count of events). */
  private final Map<String, Integer>[] columns;

  private LogOrderFeatures(FeatureProcessor processor) {
    this.processor = processor;
    List<ViewSpec> specs = processor.views();
    if (specs.size() > 63) {
      throw new IllegalArgumentException(
          "source '"
              + processor.source().name()
              + "' has "
              + specs.size()
              + " views; the"
              + " log-order rule handles at most 63 per source");
    }
    this.views = new ViewPlan[specs.size()];
    this.kept = new boolean[processor.columns().size()];
    @SuppressWarnings("unchecked")
    Map<String, Integer>[] byFeature = new Map[views.length];
    this.columns = byFeature;
    for (int i = 0; i < views.length; i++) {
      views[i] = processor.plan(i);
      numbers.put(specs.get(i).name(), i);
      for (int c : views[i].columnIndex()) {
        kept[c] = true;
      }
      columns[i] = new HashMap<>();
      List<String> names = List.of(views[i].columns());
      for (FeatureDef f : specs.get(i).features().values()) {
        columns[i].put(f.name(), f.column().map(names::indexOf).orElse(-1));
      }
    }
  }

  /**
   * The rule for one source of a spec.
   *
   * @throws IllegalArgumentException when the spec declares no such source
   */
  public static LogOrderFeatures of(FeatureSpec spec, String source) {
    return new LogOrderFeatures(FeatureProcessor.of(spec, source, "core"));
  }

  /** The source's name. */
  public String source() {
    return processor.source().name();
  }

  /** How many views are over this source: a timeline keeps a prefix partial for each. */
  public int viewCount() {
    return views.length;
  }

  /** Whether a view of this name is over this source. */
  public boolean hasView(String view) {
    return numbers.containsKey(view);
  }

  /**
   * The features of the view for the entity's next event, at its event time: the window values over
   * the events appended so far.
   *
   * @throws IllegalArgumentException for a view or feature the source does not have
   */
  public List<FeatureValue> valuesAt(
      TimelineState timeline, String viewName, List<String> featureNames, long eventTimeMs) {
    Integer number = numbers.get(viewName);
    if (number == null) {
      throw new IllegalArgumentException(
          "no view '" + viewName + "' over source '" + source() + "'");
    }
    ViewPlan plan = views[number];
    ViewSpec view = plan.spec();
    List<FeatureDef> features = new ArrayList<>(featureNames.size());
    long longest = 0;
    for (String name : featureNames) {
      FeatureDef feature = view.features().get(name);
      if (feature == null) {
        throw new IllegalArgumentException("view '" + viewName + "' has no feature '" + name + "'");
      }
      features.add(feature);
      longest = Math.max(longest, feature.windowMs());
    }
    List<FeatureValue> values = new ArrayList<>(features.size());
    long max = timeline.maxEventTime();
    if (max != Long.MIN_VALUE && eventTimeMs < minus(max, view.allowedLatenessMs())) {
      FeatureValue missing =
          FeatureValue.newBuilder().setStatus(FeatureStatus.FEATURE_STATUS_MISSING).build();
      for (int i = 0; i < features.size(); i++) {
        values.add(missing);
      }
      return values;
    }
    long current = view.tileStart(eventTimeMs);
    long from = minus(current, longest);
    List<Long> starts = new ArrayList<>();
    List<Tiles> window = new ArrayList<>();
    for (Map.Entry<Long, byte[]> tile : timeline.tiles(number, from, current).entrySet()) {
      window.add(Tiles.decode(plan, tile.getValue()));
      starts.add(tile.getKey());
    }
    Tiles partial = partial(timeline, plan, max, current, eventTimeMs);
    if (partial != null && partial.eventCount > 0) {
      window.add(partial);
      starts.add(current);
    }
    for (FeatureDef feature : features) {
      long start = minus(current, feature.windowMs());
      List<Tiles> own = window;
      if (feature.windowMs() < longest) {
        own = new ArrayList<>(window.size());
        for (int i = 0; i < window.size(); i++) {
          if (starts.get(i) >= start) {
            own.add(window.get(i));
          }
        }
      }
      values.add(
          Windows.merge(view, feature, columns[number].get(feature.name()), own, eventTimeMs));
    }
    return values;
  }

  /**
   * The view's events of the tile starting at {@code current} with time before T. In time order, T
   * at or past the greatest time, that is the whole newest tile (or its prefix partial when T
   * equals the greatest time, or nothing in a newer tile); out of order, the kept events are
   * folded.
   */
  private Tiles partial(
      TimelineState timeline, ViewPlan plan, long max, long current, long eventTimeMs) {
    if (max == Long.MIN_VALUE) {
      return null;
    }
    ViewSpec view = plan.spec();
    if (eventTimeMs >= max) {
      if (current != view.tileStart(max)) {
        return null;
      }
      byte[] tile =
          eventTimeMs > max
              ? timeline.tile(plan.number(), current)
              : timeline.prefix(plan.number());
      return tile == null ? null : Tiles.decode(plan, tile);
    }
    Tiles partial = Tiles.empty(plan);
    for (byte[] bytes : timeline.events(current, eventTimeMs)) {
      ByteBuffer in = ByteBuffer.wrap(bytes);
      long time = in.getLong();
      long mask = in.getLong();
      if ((mask & (1L << plan.number())) == 0) {
        continue;
      }
      partial.fold(readColumns(in), time);
    }
    return partial;
  }

  /**
   * Appends the entity's next event: the ETL's acceptance (cleansing, dedupe, lateness) and tiles,
   * each view's prefix partial, the event kept for out-of-order successors; then forgets what no
   * later event's features can read.
   *
   * @return what the ETL makes of it (its rows are built lazily: ignore them if not needed)
   */
  public FeatureProcessor.Outcome append(TimelineState timeline, Event event) {
    long oldMax = timeline.maxEventTime();
    long t = event.getEventTimeMs();
    // A new greatest time in the newest tile: that tile, before the event, becomes the prefix.
    byte[][] before = new byte[views.length][];
    if (oldMax != Long.MIN_VALUE && t > oldMax) {
      for (ViewPlan view : views) {
        long tile = view.spec().tileStart(t);
        if (tile == view.spec().tileStart(oldMax)) {
          before[view.number()] = timeline.tile(view.number(), tile);
        }
      }
    }
    FeatureProcessor.Outcome outcome = processor.process(timeline, event, 0);
    FeatureProcessor.Accepted a = outcome.accepted();
    if (a == null) {
      return outcome;
    }
    for (ViewPlan view : views) {
      int v = view.number();
      if (!a.views()[v]) {
        continue;
      }
      if (oldMax == Long.MIN_VALUE || t > oldMax) {
        timeline.prefix(v, before[v]);
      } else if (t < oldMax && view.spec().tileStart(t) == view.spec().tileStart(oldMax)) {
        byte[] prefix = timeline.prefix(v);
        Tiles p = prefix == null ? Tiles.empty(view) : Tiles.decode(view, prefix);
        p.fold(a.columns(), t);
        timeline.prefix(v, p.encode());
      }
    }
    timeline.addEvent(t, encode(a));
    if (oldMax == Long.MIN_VALUE || t > oldMax) {
      forget(timeline, oldMax == Long.MIN_VALUE ? t : oldMax, t);
    }
    return outcome;
  }

  /**
   * Drops tiles no window of a non-late event can reach (older than the view's longest window
   * before its oldest open tile) and events of tiles closed in every view, when the greatest time
   * moves them.
   */
  private void forget(TimelineState timeline, long oldMax, long newMax) {
    long oldKeep = Long.MAX_VALUE;
    long newKeep = Long.MAX_VALUE;
    for (ViewPlan view : views) {
      ViewSpec spec = view.spec();
      long oldOpen = spec.tileStart(minus(oldMax, spec.allowedLatenessMs()));
      long newOpen = spec.tileStart(minus(newMax, spec.allowedLatenessMs()));
      oldKeep = Math.min(oldKeep, oldOpen);
      newKeep = Math.min(newKeep, newOpen);
      if (newOpen != oldOpen || oldMax == newMax) {
        timeline.dropTilesBefore(view.number(), minus(newOpen, spec.longestWindowMs()));
      }
    }
    if (newKeep != oldKeep || oldMax == newMax) {
      timeline.dropEventsBefore(newKeep);
    }
  }

  /** {@code long time, long views bitmask}, then per kept column a tagged value (tag 0: null). */
  private byte[] encode(FeatureProcessor.Accepted a) {
    int size = 16;
    Value[] columns = a.columns();
    for (int c = 0; c < kept.length; c++) {
      if (kept[c]) {
        size += columns[c] == null ? 1 : Tiles.valueSize(columns[c]);
      }
    }
    ByteBuffer out = ByteBuffer.allocate(size);
    long mask = 0;
    for (int v = 0; v < a.views().length; v++) {
      mask |= a.views()[v] ? 1L << v : 0;
    }
    out.putLong(a.eventTimeMs()).putLong(mask);
    for (int c = 0; c < kept.length; c++) {
      if (kept[c]) {
        if (columns[c] == null) {
          out.put((byte) 0);
        } else {
          Tiles.putValue(out, columns[c]);
        }
      }
    }
    return out.array();
  }

  /** The kept columns of an encoded event, at their cleaned-column positions. */
  private Value[] readColumns(ByteBuffer in) {
    Value[] columns = new Value[kept.length];
    for (int c = 0; c < kept.length; c++) {
      if (!kept[c]) {
        continue;
      }
      if (in.get(in.position()) == 0) {
        in.get();
      } else {
        columns[c] = Tiles.getValue(in);
      }
    }
    return columns;
  }

  private static long minus(long a, long b) {
    long r = a - b;
    return ((a ^ b) & (a ^ r)) < 0 ? Long.MIN_VALUE : r;
  }
}
