package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureStatus;
import dev.streamscore.proto.v1.FeatureValue;
import dev.streamscore.proto.v1.RejectReason;
import dev.streamscore.proto.v1.Value;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LogOrderFeaturesTest {
  /** Equal, but for doubles within a relative 1e-12 (summed in another order). */
  private static void assertSame(FeatureValue actual, FeatureValue expected, String what) {
    if (expected.getValue().getKindCase() == Value.KindCase.DOUBLE_VALUE
        && actual.getValue().getKindCase() == Value.KindCase.DOUBLE_VALUE) {
      double a = actual.getValue().getDoubleValue();
      double x = expected.getValue().getDoubleValue();
      assertThat(a)
          .as(what)
          .isCloseTo(x, org.assertj.core.data.Offset.offset(1e-12 * Math.max(1, Math.abs(x))));
      assertThat(actual.getStatus()).as(what).isEqualTo(expected.getStatus());
      assertThat(actual.getEventTimeMs()).as(what).isEqualTo(expected.getEventTimeMs());
      return;
    }
    assertThat(actual).as(what).isEqualTo(expected);
  }

  private static final FeatureSpec SPEC = GoldenStream.spec();
  private static final long START = 1_764_000_000_000L;

  private static List<String> names(ViewSpec view) {
    return List.copyOf(view.features().keySet());
  }

  /**
   * The definition, checked independently: before each event is replayed, a replay of the log so
   * far answers its point-in-time query exactly. That is the log-order value for every event not
   * LATE for the view; an event LATE for it gets the view MISSING. (Sums may differ in the last
   * bits: the rule folds its newest tile in log order, the replay its partial tile in time order.)
   */
  @ParameterizedTest
  @ValueSource(longs = {21, 22, 23})
  void everyEventsFeaturesAreTheReplayOfTheLogBeforeIt(long seed) {
    List<Event> events = GoldenStream.generate(seed, 4_000, 25, START, 3 * 3_600_000L);
    LogOrderFeatures rule = LogOrderFeatures.of(SPEC, GoldenStream.SOURCE);
    Replay prefix = new Replay(SPEC, GoldenStream.SOURCE);
    Map<String, InMemoryTimeline> timelines = new HashMap<>();
    Map<String, Long> max = new HashMap<>();
    int lateQueries = 0;
    int compared = 0;
    for (Event e : events) {
      InMemoryTimeline timeline =
          timelines.computeIfAbsent(e.getEntityId(), k -> new InMemoryTimeline());
      long latest = max.getOrDefault(e.getEntityId(), Long.MIN_VALUE);
      for (ViewSpec view : SPEC.views().values()) {
        List<FeatureValue> actual =
            rule.valuesAt(timeline, view.name(), names(view), e.getEventTimeMs());
        if (latest != Long.MIN_VALUE && e.getEventTimeMs() < latest - view.allowedLatenessMs()) {
          lateQueries++;
          assertThat(actual).allMatch(v -> v.getStatus() == FeatureStatus.FEATURE_STATUS_MISSING);
          continue;
        }
        compared++;
        List<FeatureValue> expected =
            prefix.valuesAt(view.name(), names(view), e.getEntityId(), e.getEventTimeMs());
        for (int i = 0; i < expected.size(); i++) {
          assertSame(actual.get(i), expected.get(i), e.getEventId() + " " + names(view).get(i));
        }
      }
      FeatureProcessor.Outcome mine = rule.append(timeline, e);
      FeatureProcessor.Outcome reference = prefix.accept(e);
      assertThat(mine.rejections()).isEqualTo(reference.rejections());
      if (reference.rejections().stream()
          .allMatch(r -> r.reason() == RejectReason.REJECT_REASON_LATE)) {
        max.merge(e.getEntityId(), e.getEventTimeMs(), Math::max);
      }
    }
    assertThat(lateQueries).isPositive();
    assertThat(compared).isGreaterThan(events.size());
  }

  @ParameterizedTest
  @ValueSource(longs = {31, 32})
  void aTimelineKeepsOnlyWhatLaterWindowsCanRead(long seed) {
    LogOrderFeatures rule = LogOrderFeatures.of(SPEC, GoldenStream.SOURCE);
    InMemoryTimeline timeline = new InMemoryTimeline();
    // One entity, about an event a second for six hours, out of order and late at times.
    int most = 0;
    for (Event e : GoldenStream.generate(seed, 6 * 3_600, 1, START, 6 * 3_600_000L)) {
      rule.append(timeline, e);
      most = Math.max(most, timeline.keptEvents());
    }
    long longestLateness =
        SPEC.views().values().stream().mapToLong(ViewSpec::allowedLatenessMs).max().orElseThrow();
    long longestTile =
        SPEC.views().values().stream().mapToLong(ViewSpec::tileMs).max().orElseThrow();
    // Events of the open tiles: the lateness and a tile, at about one a second.
    assertThat(most).isBetween(1_000, (int) ((longestLateness + longestTile) / 1_000 * 1.2));
  }

  @ParameterizedTest
  @ValueSource(strings = {"user_txn", "user_daily"})
  void anUnknownViewOrFeatureIsNamed(String view) {
    LogOrderFeatures rule = LogOrderFeatures.of(SPEC, GoldenStream.SOURCE);
    assertThatThrownBy(() -> rule.valuesAt(new InMemoryTimeline(), "nope", List.of("x"), START))
        .hasMessage("no view 'nope' over source 'payments'");
    assertThatThrownBy(() -> rule.valuesAt(new InMemoryTimeline(), view, List.of("nope"), START))
        .hasMessage("view '" + view + "' has no feature 'nope'");
    List<FeatureValue> empty =
        rule.valuesAt(
            new InMemoryTimeline(), view, new ArrayList<>(names(SPEC.views().get(view))), 0);
    assertThat(empty).hasSize(SPEC.views().get(view).features().size());
  }
}
