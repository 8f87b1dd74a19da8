package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.FeatureStatus;
import dev.streamscore.proto.v1.RejectReason;
import dev.streamscore.proto.v1.Value;
import java.util.List;
import org.junit.jupiter.api.Test;

class FeatureProcessorTest {
  private static final long T0 = 1_764_000_000_000L; // a whole hour
  private final FeatureSpec spec = GoldenStream.spec();
  private final FeatureProcessor processor = FeatureProcessor.of(spec, "payments", "core");
  private final InMemoryEntityState state = new InMemoryEntityState();

  private static Event.Builder event(String id, long time) {
    return Event.newBuilder()
        .setSource("payments")
        .setEntityId("u1")
        .setEventId(id)
        .setEventTimeMs(time)
        .putFields("amount", Value.newBuilder().setDoubleValue(10).build())
        .putFields("merchant_id", Value.newBuilder().setStringValue("m1").build())
        .putFields("card_present", Value.newBuilder().setBoolValue(true).build());
  }

  private FeatureRow row(FeatureProcessor.Outcome outcome, String view) {
    return outcome.rows().stream().filter(r -> r.getView().equals(view)).findFirst().orElseThrow();
  }

  @Test
  void foldsAnEventIntoOneTilePerViewWithAGrowingVersion() {
    FeatureProcessor.Outcome first = processor.process(state, event("a", T0 + 61_000).build(), 5);
    FeatureRow firstTile = row(first, "user_txn");
    FeatureProcessor.Outcome second = processor.process(state, event("b", T0 + 65_000).build(), 6);

    FeatureRow tile = row(second, "user_txn");
    assertThat(tile.getTileStartMs()).isEqualTo(T0 + 60_000);
    assertThat(tile.getTileSizeMs()).isEqualTo(60_000);
    assertThat(firstTile.getVersion()).isEqualTo(1);
    assertThat(tile.getVersion()).isEqualTo(2);
    assertThat(tile.getEventCount()).isEqualTo(2);
    assertThat(tile.getColumnsMap().get("amount").getSum()).isEqualTo(20.0);
    assertThat(tile.getMaxEventTimeMs()).isEqualTo(T0 + 65_000);
    assertThat(tile.getUpdatedAtMs()).isEqualTo(6);
    assertThat(tile.getProducer()).isEqualTo("core");
    assertThat(row(second, "user_daily").getTileStartMs()).isEqualTo(T0);
  }

  @Test
  void anUpdateSupersededByALaterEventOfItsTileRefusesToBuildAStaleRow() {
    FeatureProcessor.Outcome first = processor.process(state, event("a", T0 + 61_000).build(), 5);
    processor.process(state, event("b", T0 + 65_000).build(), 6);

    TileUpdate superseded = first.updates().get(0);
    assertThat(superseded.version()).isEqualTo(1);
    assertThatThrownBy(superseded::row)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("latest update");
  }

  @Test
  void clampsDefaultsAndTransformsBeforeFolding() {
    FeatureProcessor.Outcome out =
        processor.process(
            state,
            event("a", T0)
                .putFields("items", Value.newBuilder().setLongValue(5_000).build())
                .putFields("balance_delta", Value.newBuilder().setDoubleValue(Math.E - 1).build())
                .build(),
            0);

    FeatureRow daily = row(out, "user_daily");
    assertThat(daily.getColumnsMap().get("items").getSum()).as("clamped to max").isEqualTo(1000.0);
    assertThat(daily.getColumnsMap().get("delta_log").getSum())
        .isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-12));
    FeatureRow txn = row(out, "user_txn");
    assertThat(txn.getColumnsMap().get("country").getLast().getStringValue()).isEqualTo("unknown");
    assertThat(txn.getColumnsMap().get("device_idx").getLast().getLongValue())
        .as("the default 'unknown' is not in the vocabulary: unknown bucket")
        .isEqualTo(4);
  }

  @Test
  void rejectsWithTheReasonAndTheFieldNamed() {
    Rejection nullDropped =
        processor
            .process(
                state,
                event("a", T0)
                    .clearFields()
                    .putFields("amount", Value.newBuilder().setDoubleValue(1).build())
                    .putFields("merchant_id", Value.newBuilder().setStringValue("m").build())
                    .build(),
                0)
            .rejections()
            .get(0);
    assertThat(nullDropped.reason()).isEqualTo(RejectReason.REJECT_REASON_MISSING_FIELD);
    assertThat(nullDropped.message())
        .isEqualTo("field 'card_present' is null and its if_null policy is drop");

    Rejection failed =
        processor
            .process(
                state,
                event("b", T0)
                    .putFields("balance_delta", Value.newBuilder().setDoubleValue(-3).build())
                    .build(),
                0)
            .rejections()
            .get(0);
    assertThat(failed.reason()).isEqualTo(RejectReason.REJECT_REASON_TRANSFORM_FAILED);
    assertThat(failed.field()).isEqualTo("delta_log");
    assertThat(failed.message())
        .isEqualTo("log1p of 'balance_delta' needs a value above -1, got -3.0");

    Rejection negative =
        processor
            .process(
                state,
                event("c", T0)
                    .putFields("amount", Value.newBuilder().setDoubleValue(-1).build())
                    .build(),
                0)
            .rejections()
            .get(0);
    assertThat(negative.reason()).isEqualTo(RejectReason.REJECT_REASON_OUT_OF_RANGE);
    assertThat(negative.message()).isEqualTo("field 'amount' must be >= 0, got -1.0");
    assertThat(state.maxEventTime()).as("rejected events move nothing").isEqualTo(Long.MIN_VALUE);
  }

  @Test
  void dropsARepeatedIdWithinTheHorizonButNotAfterIt() {
    processor.process(state, event("a", T0).build(), 0);
    assertThat(processor.process(state, event("a", T0).build(), 0).rejections())
        .extracting(Rejection::reason, Rejection::writesDeadLetter)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(RejectReason.REJECT_REASON_DUPLICATE, false));

    processor.process(state, event("b", T0 + 3_600_001).build(), 0); // horizon 1h has passed
    FeatureProcessor.Outcome again =
        processor.process(state, event("a", T0 + 3_600_001).build(), 0);
    assertThat(again.rejections()).isEmpty();
    assertThat(again.rows()).hasSize(2);
  }

  @Test
  void isLateForTheViewWithTheShorterAllowedLatenessOnly() {
    processor.process(state, event("a", T0 + 3_600_000).build(), 0);
    FeatureProcessor.Outcome out =
        processor.process(state, event("b", T0 + 3_600_000 - 11 * 60_000).build(), 0);

    assertThat(out.rejections())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.reason()).isEqualTo(RejectReason.REJECT_REASON_LATE);
              assertThat(r.view()).isEqualTo("user_txn");
              assertThat(r.message())
                  .isEqualTo(
                      "event time "
                          + (T0 + 3_600_000 - 11 * 60_000)
                          + " is 11m before the entity's latest "
                          + (T0 + 3_600_000)
                          + "; view 'user_txn' allows 10m");
            });
    assertThat(out.rows()).extracting(FeatureRow::getView).containsExactly("user_daily");
  }

  @Test
  void windowsEmptyThemselvesAsTimePasses() {
    FeatureRow tile = row(processor.process(state, event("a", T0 + 1_000).build(), 0), "user_txn");
    ViewSpec view = spec.views().get("user_txn");
    List<FeatureRow> rows = List.of(tile);
    FeatureDef count10m = view.features().get("txn_count_10m");
    FeatureDef last = view.features().get("last_country");

    assertThat(Windows.value(view, count10m, rows, T0 + 2_000).getValue().getLongValue())
        .isEqualTo(1);
    assertThat(Windows.value(view, count10m, rows, T0 + 11 * 60_000).getValue().getLongValue())
        .isEqualTo(0);
    assertThat(Windows.value(view, last, rows, T0 + 29 * 60_000).getStatus())
        .isEqualTo(FeatureStatus.FEATURE_STATUS_OK);
    assertThat(Windows.value(view, last, rows, T0 + 59 * 60_000).getStatus())
        .as("older than the 30m TTL, inside the 1h window")
        .isEqualTo(FeatureStatus.FEATURE_STATUS_EXPIRED);
    assertThat(Windows.value(view, last, rows, T0 + 61 * 60_000).getStatus())
        .as("out of the 1h window")
        .isEqualTo(FeatureStatus.FEATURE_STATUS_MISSING);
  }
}
