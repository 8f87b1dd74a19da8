package dev.streamscore.etl;

import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.RejectReason;
import dev.streamscore.proto.v1.Value;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The ETL semantics of one source, for every engine: cleansing and transforms, per-entity
 * acceptance (dedupe, lateness) and tile partials. An engine keys the events of {@code
 * events.<source>} by entity, keeps each entity's {@link EntityState}, and calls {@link #process}
 * for each event in partition order; it writes the returned rows to {@code features.<view>} and the
 * rejections that {@linkplain Rejection#writesDeadLetter() write one} to {@code events.dlq}.
 *
 * <p>Per event, in this order: cleansing (MISSING_FIELD, WRONG_TYPE, OUT_OF_RANGE,
 * TRANSFORM_FAILED), then dedupe (DUPLICATE: the same event id accepted at an event time no older
 * than the horizon below the entity's greatest event time), then, for each view, lateness (LATE: an
 * event time below the entity's greatest event time minus the view's allowed lateness). An event
 * that passes is folded into its tile of every view it is not late for, and each such tile's new
 * row is returned. So for each view: events in = rejected before the views + LATE for it + accepted
 * by it.
 *
 * <p>Immutable and thread-safe; the state is the caller's.
 */
public final class FeatureProcessor {
  private final SourceSpec source;
  private final Cleanser cleanser;
  private final ViewPlan[] views;
  private final String producer;

  private FeatureProcessor(FeatureSpec spec, SourceSpec source, String producer) {
    this.source = source;
    this.cleanser = new Cleanser(source);
    List<ViewSpec> specs = spec.viewsOf(source.name());
    this.views = new ViewPlan[specs.size()];
    for (int i = 0; i < views.length; i++) {
      views[i] = ViewPlan.of(specs.get(i), i, source, cleanser);
    }
    this.producer = producer;
  }

  /**
   * The processor for one source of a spec.
   *
   * @param producer the engine name written into every row: {@code flink}, {@code spark}, {@code
   *     kstreams} or {@code core}
   * @throws IllegalArgumentException when the spec declares no such source
   */
  public static FeatureProcessor of(FeatureSpec spec, String source, String producer) {
    Objects.requireNonNull(producer, "producer");
    SourceSpec s =
        spec.source(source)
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "the spec declares no source '"
                            + source
                            + "' (declared: "
                            + String.join(", ", spec.sources().keySet())
                            + ")"));
    return new FeatureProcessor(spec, s, producer);
  }

  public SourceSpec source() {
    return source;
  }

  /** The views over this source, in declaration order; a view's number is its index here. */
  public List<ViewSpec> views() {
    List<ViewSpec> specs = new ArrayList<>(views.length);
    for (ViewPlan v : views) {
      specs.add(v.spec());
    }
    return specs;
  }

  /** View number {@code number}'s plan, for replays that fold tiles themselves. */
  ViewPlan plan(int number) {
    return views[number];
  }

  /** The cleaned column names, in the order of {@link Accepted#columns()}. */
  public List<String> columns() {
    return cleanser.columns();
  }

  /**
   * What became of one event.
   *
   * @param updates each tile the event changed, one per view that accepted it
   * @param rejections why it was rejected (one reason), or the views it is LATE for
   * @param accepted the cleaned event, when any view accepted it; else null
   */
  public record Outcome(List<TileUpdate> updates, List<Rejection> rejections, Accepted accepted) {

    /** The changed tiles' new rows (built now). */
    public List<FeatureRow> rows() {
      return updates.stream().map(TileUpdate::row).toList();
    }
  }

  /**
   * A cleaned, accepted event, for replays that answer point-in-time queries.
   *
   * @param eventTimeMs its event time
   * @param columns its column values in {@link #columns()} order (null for null)
   * @param views which views accepted it, by number
   */
  public record Accepted(long eventTimeMs, Value[] columns, boolean[] views) {}

  /**
   * Processes one event of {@code state}'s entity.
   *
   * @param nowMs processing time, written as the rows' {@code updated_at_ms}
   */
  public Outcome process(EntityState state, Event event, long nowMs) {
    return process(state, event, nowMs, SourcePosition.UNKNOWN);
  }

  /**
   * {@link #process(EntityState, Event, long)} for an event read from Kafka: the rows it changes
   * carry where it was in the log ({@code source_partition}, {@code source_next_offset}, {@code
   * source_appended_ms}), so a reader knows how far its rows of the entity have got.
   */
  public Outcome process(EntityState state, Event event, long nowMs, SourcePosition position) {
    return process(state, EventView.of(event), nowMs, position);
  }

  /** What a payload field reader needs: the payload fields' names, in its slots' order. */
  EventReader reader() {
    return new EventReader(cleanser.payloadFields());
  }

  Outcome process(EntityState state, EventView event, long nowMs, SourcePosition position) {
    long eventTime = event.eventTimeMs();
    if (eventTime < EventTimeWindow.MIN_TIME_MS || eventTime > EventTimeWindow.MAX_TIME_MS) {
      // The validator never lets these through; an event written straight to the topic could,
      // and as an entity's greatest event time it would make every later event LATE.
      return new Outcome(
          List.of(),
          List.of(
              new Rejection(
                  RejectReason.REJECT_REASON_TIME_OUT_OF_WINDOW,
                  source.eventTimeField(),
                  "",
                  "event time " + eventTime + " ms is outside the years 1970 to 9999")),
          null);
    }
    Value[] row = new Value[cleanser.columns().size()];
    Rejection rejection = cleanser.clean(event, row);
    if (rejection != null) {
      return new Outcome(List.of(), List.of(rejection), null);
    }
    long t = event.eventTimeMs();
    long max = state.maxEventTime();
    boolean first = max == Long.MIN_VALUE;
    long horizon = source.dedupeHorizonMs();
    if (horizon > 0) {
      long seen = state.seenAt(event.eventId());
      if (seen != Long.MIN_VALUE && seen >= minus(max, horizon)) {
        return new Outcome(
            List.of(),
            List.of(
                new Rejection(
                    RejectReason.REJECT_REASON_DUPLICATE,
                    source.eventIdField().orElse(""),
                    "",
                    "event id '" + event.eventId() + "' was already accepted")),
            null);
      }
      state.markSeen(event.eventId(), t);
    }
    List<TileUpdate> updates = new ArrayList<>(views.length);
    List<Rejection> late = List.of();
    boolean[] acceptedBy = new boolean[views.length];
    for (ViewPlan view : views) {
      long lateness = view.spec().allowedLatenessMs();
      if (!first && t < minus(max, lateness)) {
        if (late.isEmpty()) {
          late = new ArrayList<>(views.length);
        }
        late.add(
            new Rejection(
                RejectReason.REJECT_REASON_LATE,
                source.eventTimeField(),
                view.spec().name(),
                "event time "
                    + t
                    + " is "
                    + Durations.format(max - t)
                    + " before the entity's latest "
                    + max
                    + "; view '"
                    + view.spec().name()
                    + "' allows "
                    + Durations.format(lateness)));
        continue;
      }
      acceptedBy[view.number()] = true;
      long tileStart = view.spec().tileStart(t);
      Tiles tile;
      if (state instanceof InMemoryEntityState held) {
        tile = held.openTile(view, tileStart); // folded in place until the state is written
        tile.fold(row, t);
      } else {
        byte[] stored = state.tile(view.number(), tileStart);
        tile = stored == null ? Tiles.empty(view) : Tiles.decode(view, stored);
        tile.fold(row, t);
        state.putTile(view.number(), tileStart, tile.encode());
      }
      updates.add(new TileUpdate(tile, event.entityId(), tileStart, nowMs, producer, position));
    }
    if (first || t > max) {
      state.maxEventTime(t);
      forget(state, first ? t : max, t);
    }
    return new Outcome(updates, late, updates.isEmpty() ? null : new Accepted(t, row, acceptedBy));
  }

  /**
   * Drops what no later event can need once the greatest event time moved from {@code oldMax} to
   * {@code newMax}: event ids older than the dedupe horizon (checked every half horizon) and tiles
   * that end before the allowed lateness. Forgetting never changes an outcome: dedupe and lateness
   * compare event times, not presence.
   */
  private void forget(EntityState state, long oldMax, long newMax) {
    long horizon = source.dedupeHorizonMs();
    if (horizon > 0) {
      long step = Math.max(1, horizon / 2);
      if (Math.floorDiv(newMax, step) != Math.floorDiv(oldMax, step)) {
        state.forgetSeenBefore(minus(newMax, horizon));
      }
    }
    for (ViewPlan view : views) {
      long lateness = view.spec().allowedLatenessMs();
      long oldOpen = view.spec().tileStart(minus(oldMax, lateness));
      long newOpen = view.spec().tileStart(minus(newMax, lateness));
      if (newOpen != oldOpen) {
        state.removeTilesBefore(view.number(), newOpen);
      }
    }
  }

  private static long minus(long a, long b) {
    long r = a - b;
    return ((a ^ b) & (a ^ r)) < 0 ? Long.MIN_VALUE : r;
  }
}
