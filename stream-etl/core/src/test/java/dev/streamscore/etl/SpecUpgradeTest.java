package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Which spec changes a running job can take from its state, and what the upgraded job computes. */
class SpecUpgradeTest {
  /** The shipped spec and one view after its others, as the README's upgrade runs it. */
  private static final Path V2 = Path.of("../../deploy/payments-v2.yaml");

  private static final String BASE = FeatureSpec.shippedPaymentsYaml();

  private static FeatureSpec spec(String yaml) {
    return FeatureSpec.parse(yaml, "test.yaml");
  }

  /** The text of {@link #V2}. */
  static String withAddedView() {
    try {
      return Files.readString(V2, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@link #V2}'s added view. */
  private static String addedView() {
    String v2 = withAddedView();
    return v2.substring(v2.indexOf("  # Added by the upgrade"));
  }

  @Test
  void aViewAddedAfterTheOthersAndAFieldAddedAreUpgrades() {
    FeatureSpec base = FeatureSpec.shippedPayments();
    FeatureSpec next = spec(withAddedView());
    assertThat(next.views()).containsKey("user_amount_5m").hasSize(3);
    assertThat(withAddedView())
        .as("the shipped spec, then the view")
        .contains(BASE.substring(BASE.indexOf("version: 1")));
    assertThat(base.upgradeProblem(next)).isEmpty();
    assertThat(base.upgradeProblem(base)).isEmpty();
    assertThat(
            base.upgradeProblem(
                spec(
                    BASE.replace(
                        "      is_fraud:", "      channel: {type: string}\n      is_fraud:"))))
        .isEmpty();
  }

  @Test
  void aViewChangedMovedOrRemovedOrChangedAcceptanceIsRefusedNamingWhy() {
    FeatureSpec base = FeatureSpec.shippedPayments();
    String inserted = BASE.replace("views:\n", "views:\n" + addedView());
    assertThat(base.upgradeProblem(spec(inserted)))
        .hasValueSatisfying(
            p -> assertThat(p).contains("view 'user_txn' is gone or no longer view 1"));
    assertThat(
            base.upgradeProblem(
                spec(
                    BASE.replace(
                        "txn_count_10m:    {agg: count, window: 10m}",
                        "txn_count_10m:    {agg: count, window: 20m}"))))
        .hasValueSatisfying(p -> assertThat(p).contains("view 'user_txn' changes its definition"));
    String withoutDaily = BASE.substring(0, BASE.indexOf("  # Longer-term baseline"));
    assertThat(base.upgradeProblem(spec(withoutDaily)))
        .hasValueSatisfying(p -> assertThat(p).contains("view 'user_daily' is gone"));
    assertThat(base.upgradeProblem(spec(BASE.replace("dedupe_horizon: 1h", "dedupe_horizon: 2h"))))
        .hasValueSatisfying(p -> assertThat(p).contains("source 'payments' changes"));
  }

  @Test
  void anUpgradedReplayKeepsTheOldViewsAndFillsTheNewOneFromTheUpgradeOn() {
    long start = 1_764_000_000_000L;
    List<Event> events = GoldenStream.generate(8, 6_000, 150, start, 3 * 3_600_000L);
    FeatureSpec next = spec(withAddedView());
    Replay upgraded = new Replay(FeatureSpec.shippedPayments(), "payments");
    Replay never = new Replay(FeatureSpec.shippedPayments(), "payments");
    Replay all = new Replay(next, "payments");
    for (int i = 0; i < events.size(); i++) {
      if (i == events.size() / 2) {
        upgraded.upgradeTo(next);
      }
      upgraded.accept(events.get(i));
      never.accept(events.get(i));
      all.accept(events.get(i));
    }
    for (String view : List.of("user_txn", "user_daily")) {
      assertThat(normalized(upgraded.finalRows(view))).isEqualTo(normalized(never.finalRows(view)));
    }
    // The new view: every tile of the second half equals the full replay's, and none before it.
    int half = events.size() / 2;
    long firstHalfMax =
        events.subList(0, half).stream().mapToLong(Event::getEventTimeMs).max().orElseThrow();
    long secondHalfMin =
        events.subList(half, events.size()).stream()
            .mapToLong(Event::getEventTimeMs)
            .min()
            .orElseThrow();
    Map<String, TreeMap<Long, FeatureRow>> added = upgraded.finalRows("user_amount_5m");
    assertThat(added).isNotEmpty();
    int compared = 0;
    for (var entity : added.entrySet()) {
      for (FeatureRow row : entity.getValue().values()) {
        assertThat(row.getTileStartMs() + 60_000L).isGreaterThan(secondHalfMin);
        FeatureRow full =
            all.finalRows("user_amount_5m").get(entity.getKey()).get(row.getTileStartMs());
        // No event of the first half can be in these tiles.
        if (row.getTileStartMs() > firstHalfMax) {
          assertThat(GoldenStream.normalized(row)).isEqualTo(GoldenStream.normalized(full));
          compared++;
        }
      }
    }
    assertThat(compared).isGreaterThan(100);
    assertThat(upgraded.valueAt("user_amount_5m", "txn_count_5m", "u1", start + 3 * 3_600_000L))
        .isEqualTo(all.valueAt("user_amount_5m", "txn_count_5m", "u1", start + 3 * 3_600_000L));
    assertThatThrownBy(() -> upgraded.upgradeTo(FeatureSpec.shippedPayments()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot upgrade: view 'user_amount_5m' is gone");
  }

  private static Map<String, Map<Long, FeatureRow>> normalized(
      Map<String, TreeMap<Long, FeatureRow>> rows) {
    Map<String, Map<Long, FeatureRow>> out = new TreeMap<>();
    rows.forEach(
        (entity, tiles) -> {
          Map<Long, FeatureRow> n = new TreeMap<>();
          tiles.forEach((t, row) -> n.put(t, GoldenStream.normalized(row)));
          out.put(entity, n);
        });
    return out;
  }
}
