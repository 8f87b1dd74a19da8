package dev.streamscore.etl;

import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.FeatureValue;
import dev.streamscore.proto.v1.RejectReason;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The offline replay of a recorded {@code events.<source>} log through the same {@link
 * FeatureProcessor} every engine runs: the final tile rows an engine would leave on {@code
 * features.<view>}, the rejected counts by reason, and the exact window value of any (entity, T) —
 * point-in-time training data.
 *
 * <p>Feed events in partition order (each entity's events in offset order; how entities interleave
 * does not matter). Rows carry the event's ingest time as {@code updated_at_ms} and producer {@code
 * core}. Not thread-safe. Holds every accepted event in memory.
 */
public final class Replay {
  private FeatureSpec spec;
  private final String source;
  private FeatureProcessor processor;
  private List<ViewSpec> views;
  private final Map<String, InMemoryEntityState> states = new HashMap<>();
  private final Map<String, Map<String, TreeMap<Long, FeatureRow>>> rows = new LinkedHashMap<>();

  /** Per entity, accepted events by event time: a partial tile is one range of it. */
  private final Map<String, TreeMap<Long, List<FeatureProcessor.Accepted>>> accepted =
      new HashMap<>();

  /** Per entity and view: the partial current tile of the last point-in-time query. */
  private final Map<String, Map<Integer, Cursor>> cursors = new HashMap<>();

  private final Map<RejectReason, Long> rejected = new EnumMap<>(RejectReason.class);
  private final Map<String, Long> lateByView = new HashMap<>();
  private final boolean pointInTime;
  private long events;

  /** A replay that answers {@link #valueAt} (and so keeps every accepted event). */
  public Replay(FeatureSpec spec, String source) {
    this(spec, source, true);
  }

  /**
   * A replay that keeps only the final rows and counts, for logs too long to hold every event;
   * {@link #valueAt} then throws.
   */
  public static Replay finalRowsOnly(FeatureSpec spec, String source) {
    return new Replay(spec, source, false);
  }

  private Replay(FeatureSpec spec, String source, boolean pointInTime) {
    this.pointInTime = pointInTime;
    this.spec = spec;
    this.source = source;
    this.processor = FeatureProcessor.of(spec, source, "core");
    this.views = processor.views();
    for (ViewSpec view : views) {
      rows.put(view.name(), new HashMap<>());
    }
  }

  /**
   * Continues under {@code next}, as an engine's job upgraded from a savepoint does: every entity
   * keeps its state, and views {@code next} adds see only the events replayed from now on.
   *
   * @throws IllegalArgumentException when a job could not continue so ({@link
   *     FeatureSpec#upgradeProblem})
   */
  public void upgradeTo(FeatureSpec next) {
    spec.upgradeProblem(next)
        .ifPresent(
            problem -> {
              throw new IllegalArgumentException("cannot upgrade: " + problem);
            });
    spec = next;
    processor = FeatureProcessor.of(next, source, "core");
    views = processor.views();
    for (ViewSpec view : views) {
      rows.putIfAbsent(view.name(), new HashMap<>());
    }
  }

  /** Replays one event. */
  public FeatureProcessor.Outcome accept(Event event) {
    return accept(event, SourcePosition.UNKNOWN);
  }

  /** Replays one event read at {@code position}: its rows carry it, as an engine's do. */
  public FeatureProcessor.Outcome accept(Event event, SourcePosition position) {
    events++;
    InMemoryEntityState state =
        states.computeIfAbsent(event.getEntityId(), e -> new InMemoryEntityState());
    FeatureProcessor.Outcome outcome =
        processor.process(state, event, event.getIngestTimeMs(), position);
    for (Rejection r : outcome.rejections()) {
      rejected.merge(r.reason(), 1L, Long::sum);
      if (!r.view().isEmpty()) {
        lateByView.merge(r.view(), 1L, Long::sum);
      }
    }
    for (FeatureRow row : outcome.rows()) {
      rows.get(row.getView())
          .computeIfAbsent(row.getEntityId(), e -> new TreeMap<>())
          .merge(row.getTileStartMs(), row, (a, b) -> a.getVersion() >= b.getVersion() ? a : b);
    }
    if (pointInTime && outcome.accepted() != null) {
      // A new event may fall inside a tile a cursor has already folded past.
      cursors.remove(event.getEntityId());
      accepted
          .computeIfAbsent(event.getEntityId(), e -> new TreeMap<>())
          .computeIfAbsent(outcome.accepted().eventTimeMs(), t -> new ArrayList<>(1))
          .add(outcome.accepted());
    }
    return outcome;
  }

  /** Events replayed so far. */
  public long events() {
    return events;
  }

  /**
   * Rejections by reason. An event LATE for two views counts twice; every other reason once per
   * event.
   */
  public Map<RejectReason, Long> rejected() {
    return Map.copyOf(rejected);
  }

  /** Events LATE for this view. */
  public long late(String view) {
    return lateByView.getOrDefault(view, 0L);
  }

  /** The final row of every tile of a view (the greatest version), by entity, then tile start. */
  public Map<String, TreeMap<Long, FeatureRow>> finalRows(String view) {
    Map<String, TreeMap<Long, FeatureRow>> byEntity = rows.get(view);
    if (byEntity == null) {
      throw new IllegalArgumentException("no view '" + view + "' over this source");
    }
    return byEntity;
  }

  /**
   * The exact value of a feature for an entity at time T: accepted events with floor_t(T) - w <=
   * time < T.
   */
  public FeatureValue valueAt(String viewName, String featureName, String entityId, long asOfMs) {
    return valuesAt(viewName, List.of(featureName), entityId, asOfMs).get(0);
  }

  /**
   * {@link #valueAt} for several features of one view at once: the window's tiles and the partial
   * current tile are read once for all of them (point-in-time training data asks this per event).
   */
  public List<FeatureValue> valuesAt(
      String viewName, List<String> featureNames, String entityId, long asOfMs) {
    if (!pointInTime) {
      throw new IllegalStateException(
          "this replay keeps final rows only; it cannot answer valueAt");
    }
    int number = viewNumber(viewName);
    ViewSpec view = views.get(number);
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
    long current = view.tileStart(asOfMs);
    List<FeatureRow> window = new ArrayList<>();
    TreeMap<Long, FeatureRow> tiles = rows.get(viewName).get(entityId);
    if (tiles != null) {
      // Final rows hold every accepted event of their tile, however late it came.
      window.addAll(tiles.subMap(current - longest, true, current, false).values());
    }
    TreeMap<Long, List<FeatureProcessor.Accepted>> byTime = accepted.get(entityId);
    if (asOfMs > current && byTime != null) {
      Tiles partial = partialTile(number, entityId, byTime, current, asOfMs);
      if (partial.eventCount > 0) {
        window.add(partial.toRow(entityId, current, 0, "core"));
      }
    }
    List<FeatureValue> values = new ArrayList<>(features.size());
    for (FeatureDef feature : features) {
      // Windows.value picks this feature's window out of the longest one's tiles.
      values.add(Windows.value(view, feature, window, asOfMs));
    }
    return values;
  }

  /** The fold of an entity's current tile up to a time, and where it stopped. */
  private record Cursor(long tileStart, long until, Tiles partial) {}

  /**
   * Accepted events of the tile starting at {@code current} with time before {@code asOfMs}. Point
   * in time queries come per event, mostly in time order: the fold continues from the previous
   * query of the same tile instead of starting over, which keeps a busy entity linear.
   */
  private Tiles partialTile(
      int number,
      String entityId,
      TreeMap<Long, List<FeatureProcessor.Accepted>> byTime,
      long current,
      long asOfMs) {
    Map<Integer, Cursor> ofEntity = cursors.computeIfAbsent(entityId, e -> new HashMap<>());
    Cursor cursor = ofEntity.get(number);
    long from = current;
    Tiles partial;
    if (cursor != null && cursor.tileStart() == current && cursor.until() <= asOfMs) {
      partial = cursor.partial();
      from = cursor.until();
    } else {
      partial = Tiles.empty(processor.plan(number));
    }
    for (List<FeatureProcessor.Accepted> at : byTime.subMap(from, true, asOfMs, false).values()) {
      for (FeatureProcessor.Accepted a : at) {
        // An event replayed before an upgrade added the view does not count for it.
        if (number < a.views().length && a.views()[number]) {
          partial.fold(a.columns(), a.eventTimeMs());
        }
      }
    }
    ofEntity.put(number, new Cursor(current, asOfMs, partial));
    return partial;
  }

  private int viewNumber(String view) {
    for (int i = 0; i < views.size(); i++) {
      if (views.get(i).name().equals(view)) {
        return i;
      }
    }
    throw new IllegalArgumentException("no view '" + view + "' over this source");
  }
}
