package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureStatus;
import dev.streamscore.proto.v1.FeatureValue;
import dev.streamscore.proto.v1.Value;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The one contract for empty windows, as feature.proto, the README and the code state it. */
class EmptyWindowTest {
  private static final long T0 = 1_764_000_000_000L; // a whole hour
  private static final List<String> FEATURES =
      List.of(
          "txn_count_1h",
          "amount_sum_1h",
          "merchants_1h",
          "amount_mean_1h",
          "amount_max_10m",
          "amount_log_std_1h",
          "last_country");

  private static List<String> statuses(List<FeatureValue> values) {
    return values.stream()
        .map(
            v ->
                v.getStatus() == FeatureStatus.FEATURE_STATUS_OK
                    ? "OK " + v.getValue()
                    : v.getStatus().name().replace("FEATURE_STATUS_", ""))
        .map(s -> s.replace("\n", "").trim())
        .toList();
  }

  @Test
  void countSumAndDistinctOfAnEmptyWindowAreZeroAndTheOthersAreMissing() {
    Replay replay = new Replay(FeatureSpec.shippedPayments(), "payments");
    replay.accept(
        Event.newBuilder()
            .setSource("payments")
            .setEntityId("u1")
            .setEventId("t1")
            .setEventTimeMs(T0)
            .putFields("amount", Value.newBuilder().setDoubleValue(10).build())
            .putFields("merchant_id", Value.newBuilder().setStringValue("m1").build())
            .putFields("country", Value.newBuilder().setStringValue("US").build())
            .build());

    // Two hours later the 1h windows hold nothing; an entity never seen holds nothing ever.
    for (List<FeatureValue> empty :
        List.of(
            replay.valuesAt("user_txn", FEATURES, "u1", T0 + 2 * 3_600_000L),
            replay.valuesAt("user_txn", FEATURES, "nobody", T0 + 60_000))) {
      assertThat(statuses(empty))
          .containsExactly(
              "OK long_value: 0",
              "OK double_value: 0.0",
              "OK long_value: 0",
              "MISSING",
              "MISSING",
              "MISSING",
              "MISSING");
    }
  }
}
