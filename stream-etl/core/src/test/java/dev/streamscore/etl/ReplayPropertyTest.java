package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.FeatureStatus;
import dev.streamscore.proto.v1.FeatureValue;
import dev.streamscore.proto.v1.RejectReason;
import dev.streamscore.proto.v1.Value;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Property tests over generated golden streams: the core's replay agrees with a brute-force reading
 * of the semantics in the design, and tile reads agree with exact point-in-time values.
 */
class ReplayPropertyTest {
  private static final long START = 1_764_000_000_000L;
  private static final FeatureSpec SPEC = GoldenStream.spec();

  /** One event's fate under the brute-force model. */
  private record Fate(RejectReason reason, Set<String> lateFor, Map<String, Value> columns) {}

  /** The semantics, read literally from the design: quadratic and obviously right. */
  private static List<Fate> bruteForce(List<Event> events) {
    SourceSpec source = SPEC.source(GoldenStream.SOURCE).orElseThrow();
    Cleanser cleanser = new Cleanser(source);
    Map<String, List<long[]>> passedTimes = new HashMap<>();
    Map<String, List<String>> passedIds = new HashMap<>();
    List<Fate> fates = new ArrayList<>();
    for (Event e : events) {
      Value[] row = new Value[cleanser.columns().size()];
      Rejection r = cleanser.clean(EventView.of(e), row);
      if (r != null) {
        fates.add(new Fate(r.reason(), Set.of(), null));
        continue;
      }
      List<long[]> times = passedTimes.computeIfAbsent(e.getEntityId(), k -> new ArrayList<>());
      List<String> ids = passedIds.computeIfAbsent(e.getEntityId(), k -> new ArrayList<>());
      long max = times.stream().mapToLong(t -> t[0]).max().orElse(Long.MIN_VALUE);
      boolean duplicate = false;
      for (int i = ids.size() - 1; i >= 0; i--) {
        if (ids.get(i).equals(e.getEventId())) {
          duplicate = times.get(i)[0] >= max - source.dedupeHorizonMs();
          break;
        }
      }
      if (duplicate) {
        fates.add(new Fate(RejectReason.REJECT_REASON_DUPLICATE, Set.of(), null));
        continue;
      }
      times.add(new long[] {e.getEventTimeMs()});
      ids.add(e.getEventId());
      Set<String> late = new HashSet<>();
      for (ViewSpec v : SPEC.views().values()) {
        if (max != Long.MIN_VALUE && e.getEventTimeMs() < max - v.allowedLatenessMs()) {
          late.add(v.name());
        }
      }
      Map<String, Value> columns = new HashMap<>();
      for (int c = 0; c < row.length; c++) {
        if (row[c] != null) {
          columns.put(cleanser.columns().get(c), row[c]);
        }
      }
      fates.add(new Fate(null, late, columns));
    }
    return fates;
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5})
  void acceptanceMatchesTheDesignsDefinitionEventByEvent(long seed) {
    List<Event> events = GoldenStream.generate(seed, 6_000, 40, START, 4 * 3_600_000L);
    List<Fate> expected = bruteForce(events);
    Replay replay = new Replay(SPEC, GoldenStream.SOURCE);

    Map<RejectReason, Long> expectedCounts = new HashMap<>();
    for (int i = 0; i < events.size(); i++) {
      FeatureProcessor.Outcome outcome = replay.accept(events.get(i));
      Fate fate = expected.get(i);
      if (fate.reason() != null) {
        assertThat(outcome.rejections()).as("event %d", i).hasSize(1);
        assertThat(outcome.rejections().get(0).reason()).as("event %d", i).isEqualTo(fate.reason());
        assertThat(outcome.rows()).isEmpty();
        expectedCounts.merge(fate.reason(), 1L, Long::sum);
      } else {
        assertThat(outcome.rejections())
            .as("event %d", i)
            .allMatch(r -> r.reason() == RejectReason.REJECT_REASON_LATE)
            .extracting(Rejection::view)
            .containsExactlyInAnyOrderElementsOf(fate.lateFor());
        assertThat(outcome.rows()).hasSize(SPEC.views().size() - fate.lateFor().size());
        fate.lateFor()
            .forEach(v -> expectedCounts.merge(RejectReason.REJECT_REASON_LATE, 1L, Long::sum));
      }
    }
    assertThat(replay.rejected()).isEqualTo(expectedCounts);
    // The generator exercises every reason the ETL can give.
    assertThat(replay.rejected().keySet())
        .contains(
            RejectReason.REJECT_REASON_MISSING_FIELD,
            RejectReason.REJECT_REASON_WRONG_TYPE,
            RejectReason.REJECT_REASON_OUT_OF_RANGE,
            RejectReason.REJECT_REASON_TRANSFORM_FAILED,
            RejectReason.REJECT_REASON_DUPLICATE,
            RejectReason.REJECT_REASON_LATE);
    assertThat(replay.late("user_txn")).isGreaterThan(replay.late("user_daily"));
  }

  @ParameterizedTest
  @ValueSource(longs = {11, 12, 13})
  void pointInTimeValuesEqualABruteForceOverTheAcceptedEvents(long seed) {
    List<Event> events = GoldenStream.generate(seed, 5_000, 30, START, 3 * 3_600_000L);
    List<Fate> fates = bruteForce(events);
    Replay replay = new Replay(SPEC, GoldenStream.SOURCE);
    events.forEach(replay::accept);
    SplittableRandom random = new SplittableRandom(seed);

    for (int q = 0; q < 400; q++) {
      String entity = "u" + random.nextInt(30);
      long t = START + random.nextLong(4 * 3_600_000L);
      for (ViewSpec view : SPEC.views().values()) {
        for (FeatureDef f : view.features().values()) {
          List<Event> window = new ArrayList<>();
          List<Map<String, Value>> columns = new ArrayList<>();
          for (int i = 0; i < events.size(); i++) {
            Event e = events.get(i);
            Fate fate = fates.get(i);
            if (fate.reason() == null
                && !fate.lateFor().contains(view.name())
                && e.getEntityId().equals(entity)
                && e.getEventTimeMs() >= view.tileStart(t) - f.windowMs()
                && e.getEventTimeMs() < t) {
              window.add(e);
              columns.add(fate.columns());
            }
          }
          FeatureValue actual = replay.valueAt(view.name(), f.name(), entity, t);
          assertAgrees(view, f, window, columns, t, actual);
        }
      }
    }
  }

  private static void assertAgrees(
      ViewSpec view,
      FeatureDef f,
      List<Event> window,
      List<Map<String, Value>> columns,
      long t,
      FeatureValue actual) {
    String what = view.name() + ":" + f.name() + " at " + t;
    List<Value> values = new ArrayList<>();
    long lastTime = Long.MIN_VALUE;
    Value last = null;
    for (int i = 0; i < window.size(); i++) {
      Value v =
          f.column().isEmpty() ? Value.getDefaultInstance() : columns.get(i).get(f.column().get());
      if (v == null) {
        continue;
      }
      values.add(v);
      if (window.get(i).getEventTimeMs() >= lastTime) {
        lastTime = window.get(i).getEventTimeMs();
        last = v;
      }
    }
    double[] xs =
        values.stream()
            .mapToDouble(
                v ->
                    v.getKindCase() == Value.KindCase.LONG_VALUE
                        ? v.getLongValue()
                        : v.getDoubleValue())
            .toArray();
    switch (f.aggregation()) {
      case COUNT -> assertThat(actual.getValue().getLongValue()).as(what).isEqualTo(values.size());
      case SUM ->
          assertThat(actual.getValue().getDoubleValue())
              .as(what)
              .isCloseTo(java.util.Arrays.stream(xs).sum(), within(1e-6));
      case APPROX_DISTINCT -> {
        long exact = values.stream().distinct().count();
        assertThat(actual.getValue().getLongValue())
            .as(what)
            .isCloseTo(exact, within(Math.max(1, (long) (exact * 0.03))));
      }
      default -> {
        if (values.isEmpty()) {
          assertThat(actual.getStatus()).as(what).isEqualTo(FeatureStatus.FEATURE_STATUS_MISSING);
          return;
        }
        switch (f.aggregation()) {
          case MEAN ->
              assertThat(actual.getValue().getDoubleValue())
                  .as(what)
                  .isCloseTo(java.util.Arrays.stream(xs).average().orElseThrow(), within(1e-9));
          case MIN ->
              assertThat(actual.getValue().getDoubleValue())
                  .as(what)
                  .isEqualTo(java.util.Arrays.stream(xs).min().orElseThrow());
          case MAX ->
              assertThat(actual.getValue().getDoubleValue())
                  .as(what)
                  .isEqualTo(java.util.Arrays.stream(xs).max().orElseThrow());
          case STDDEV -> {
            double mean = java.util.Arrays.stream(xs).average().orElseThrow();
            double var =
                java.util.Arrays.stream(xs).map(x -> (x - mean) * (x - mean)).sum() / xs.length;
            assertThat(actual.getValue().getDoubleValue())
                .as(what)
                .isCloseTo(Math.sqrt(var), within(1e-6));
          }
          case LAST -> {
            if (t - lastTime > view.ttlMs()) {
              assertThat(actual.getStatus())
                  .as(what)
                  .isEqualTo(FeatureStatus.FEATURE_STATUS_EXPIRED);
            } else {
              assertThat(actual.getValue()).as(what).isEqualTo(last);
              assertThat(actual.getEventTimeMs()).as(what).isEqualTo(lastTime);
            }
          }
          default -> throw new AssertionError(f.aggregation());
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {21, 22})
  void tileReadsAtTileBoundariesEqualExactPointInTimeValuesBitForBit(long seed) {
    List<Event> events = GoldenStream.generate(seed, 8_000, 25, START, 5 * 3_600_000L);
    Replay replay = new Replay(SPEC, GoldenStream.SOURCE);
    events.forEach(replay::accept);
    SplittableRandom random = new SplittableRandom(seed);
    int compared = 0;
    for (ViewSpec view : SPEC.views().values()) {
      for (Map.Entry<String, TreeMap<Long, FeatureRow>> e :
          replay.finalRows(view.name()).entrySet()) {
        List<FeatureRow> rows = List.copyOf(e.getValue().values());
        for (int q = 0; q < 20; q++) {
          long t = view.tileStart(START + random.nextLong(6 * 3_600_000L));
          for (FeatureDef f : view.features().values()) {
            assertThat(Windows.value(view, f, rows, t))
                .as("%s:%s %s at %d", view.name(), f.name(), e.getKey(), t)
                .isEqualTo(replay.valueAt(view.name(), f.name(), e.getKey(), t));
            compared++;
          }
        }
      }
    }
    assertThat(compared).isGreaterThan(1_000);
  }

  @ParameterizedTest
  @ValueSource(longs = {31, 32})
  void finalRowsDoNotDependOnHowEntitiesInterleave(long seed) {
    List<Event> events = GoldenStream.generate(seed, 5_000, 50, START, 2 * 3_600_000L);
    List<Event> grouped = new ArrayList<>(events);
    grouped.sort(Comparator.comparing(Event::getEntityId)); // stable: each entity keeps its order
    Replay a = new Replay(SPEC, GoldenStream.SOURCE);
    Replay b = new Replay(SPEC, GoldenStream.SOURCE);
    events.forEach(a::accept);
    grouped.forEach(b::accept);

    for (ViewSpec view : SPEC.views().values()) {
      assertThat(b.finalRows(view.name())).isEqualTo(a.finalRows(view.name()));
    }
    assertThat(b.rejected()).isEqualTo(a.rejected());
  }

  /** A state that forgets nothing: what the core forgets must never change an outcome. */
  private static final class NeverForgetting implements EntityState {
    private final InMemoryEntityState inner = new InMemoryEntityState();

    @Override
    public long maxEventTime() {
      return inner.maxEventTime();
    }

    @Override
    public void maxEventTime(long t) {
      inner.maxEventTime(t);
    }

    @Override
    public long seenAt(String id) {
      return inner.seenAt(id);
    }

    @Override
    public void markSeen(String id, long t) {
      inner.markSeen(id, t);
    }

    @Override
    public void forgetSeenBefore(long t) {}

    @Override
    public byte[] tile(int view, long start) {
      return inner.tile(view, start);
    }

    @Override
    public void putTile(int view, long start, byte[] row) {
      inner.putTile(view, start, row);
    }

    @Override
    public void removeTilesBefore(int view, long start) {}
  }

  @ParameterizedTest
  @ValueSource(longs = {41, 42})
  void forgettingOldIdsAndClosedTilesChangesNoOutcomeAndBoundsTheState(long seed) {
    List<Event> events = GoldenStream.generate(seed, 10_000, 5, START, 12 * 3_600_000L);
    FeatureProcessor processor = FeatureProcessor.of(SPEC, GoldenStream.SOURCE, "core");
    Map<String, InMemoryEntityState> forgetting = new HashMap<>();
    Map<String, NeverForgetting> keeping = new HashMap<>();
    for (Event e : events) {
      FeatureProcessor.Outcome a =
          processor.process(
              forgetting.computeIfAbsent(e.getEntityId(), k -> new InMemoryEntityState()), e, 7);
      FeatureProcessor.Outcome b =
          processor.process(
              keeping.computeIfAbsent(e.getEntityId(), k -> new NeverForgetting()), e, 7);
      assertThat(a.rows()).isEqualTo(b.rows());
      assertThat(a.rejections()).isEqualTo(b.rejections());
    }
    for (InMemoryEntityState state : forgetting.values()) {
      // 12h of events over 5 users: without forgetting a user would hold ~2,000 ids and ~700 tiles.
      assertThat(state.seenCount()).isLessThan(700);
      assertThat(state.openTiles()).isLessThanOrEqualTo(10 + 1 + 1 + 1);
    }
  }
}
