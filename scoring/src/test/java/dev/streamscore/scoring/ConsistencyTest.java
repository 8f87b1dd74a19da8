package dev.streamscore.scoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.PointInTimeRule;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.MissingPolicy;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.Value;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConsistencyTest {
  private static final FeatureSpec SPEC = FeatureSpec.shippedPayments();
  private static final long T0 = Node.T0;

  /** Inputs: txn_count_1h, amount_mean_1h (defaults -1), then the request's amount. */
  private static final ModelVersionSpec MODEL = Node.spec(MissingPolicy.MISSING_POLICY_USE_DEFAULT);

  /** Payment {@code i} of u1 at {@code T0 + seconds}, amount 10 (i + 1), at offset i. */
  private static Consistency.Logged payment(int i, int seconds) {
    return new Consistency.Logged(
        new RecordOrigin("events.payments", 0, i),
        Event.newBuilder()
            .setSource("payments")
            .setEntityId("u1")
            .setEventId("t" + i)
            .setEventTimeMs(T0 + seconds * 1_000L)
            .putFields("amount", Value.newBuilder().setDoubleValue(10.0 * (i + 1)).build())
            .putFields("merchant_id", Value.newBuilder().setStringValue("m" + i).build())
            .build());
  }

  private static List<Consistency.Logged> inOrder(int n) {
    List<Consistency.Logged> log = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      log.add(payment(i, i));
    }
    return log;
  }

  /** A stream prediction of the event at offset {@code i} that served {@code count, mean}. */
  private static Prediction.Builder served(int i, double count, double mean) {
    return Prediction.newBuilder()
        .setRequestId("events.payments-0-" + i)
        .setEventId("t" + i)
        .setModelName("fraud")
        .setModelVersion(1)
        .addFeatures(count)
        .addFeatures(mean)
        .addFeatures(10.0 * (i + 1));
  }

  /** Payment i of an in-order stream: i payments before it, their mean amount 5 (i + 1). */
  private static Prediction.Builder trained(int i) {
    return served(i, i, i == 0 ? -1 : 5.0 * (i + 1));
  }

  private static Consistency.Report check(
      PointInTimeRule rule, List<Consistency.Logged> log, List<Prediction> predictions) {
    return new Consistency(SPEC, "payments", rule).check(log, Map.of(1L, MODEL), predictions);
  }

  @Test
  void aPredictionServedItsTrainingRowIsIdenticalAndAnyOtherValueIsAMismatchOfItsInput() {
    List<Prediction> predictions = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      predictions.add(trained(i).build());
    }
    // Served with its own payment counted: the leak the check exists to find.
    predictions.add(trained(3).setFeatures(0, 4).setRequestId("events.payments-0-3").build());
    predictions.add(trained(2).clearFeatures().build()); // logged no inputs
    predictions.add(trained(9).build()); // an event that is not in the log

    Consistency.Report report = check(PointInTimeRule.LOG_ORDER, inOrder(5), predictions);

    assertThat(report.predictions()).isEqualTo(8);
    assertThat(report.compared()).isEqualTo(6);
    assertThat(report.identical()).isEqualTo(5);
    assertThat(report.withoutInputs()).isEqualTo(1);
    assertThat(report.withoutEvent()).isEqualTo(1);
    assertThat(report.inputs())
        .extracting(s -> s.input() + " " + s.mismatches() + " " + s.servedHigher())
        .containsExactly("user_txn:txn_count_1h 1 1", "user_txn:amount_mean_1h 0 0", "amount 0 0");
    assertThat(report.inputs().get(0).largestDifference()).isEqualTo(1.0);
    assertThat(report.causes()).isEqualTo(Map.of(Consistency.Cause.SCORED_EVENT, 1L));
    assertThat(report.summary())
        .isEqualTo("5 of 6 stream predictions identical to their training rows (83.3%)");
  }

  @Test
  void anEventLoggedLaterWithAnEarlierTimeCountsOnlyUnderTheEventTimeRule() {
    // p2 is logged after p1 but happened before it.
    List<Consistency.Logged> log = List.of(payment(0, 0), payment(1, 10), payment(2, 5));
    List<Prediction> predictions = List.of(served(1, 1, 10).build());

    Consistency.Report logOrder = check(PointInTimeRule.LOG_ORDER, log, predictions);
    Consistency.Report eventTime = check(PointInTimeRule.EVENT_TIME, log, predictions);

    assertThat(logOrder.identical()).isEqualTo(1);
    assertThat(logOrder.causes()).isEmpty();
    assertThat(eventTime.identical()).isZero();
    assertThat(eventTime.causes()).isEqualTo(Map.of(Consistency.Cause.LATE_ARRIVALS, 2L));
    assertThat(eventTime.rule()).isEqualTo(PointInTimeRule.EVENT_TIME);
  }

  @Test
  void servedValuesAreClassifiedByWhatTheyCounted() {
    List<Prediction> predictions =
        List.of(
            // Two payments before it missing, the mean then the default: the store was behind.
            served(2, 0, -1).build(),
            // Later payments of its tile counted: 4 where one preceded it.
            served(1, 4, 5.0 * 2).build());

    Consistency.Report report = check(PointInTimeRule.LOG_ORDER, inOrder(5), predictions);

    assertThat(report.identical()).isZero();
    assertThat(report.causes())
        .isEqualTo(
            Map.of(
                Consistency.Cause.STORE_LAG, 1L,
                Consistency.Cause.DEFAULT, 1L,
                Consistency.Cause.LATER_EVENTS, 1L));
  }

  @Test
  void anUndeclaredSourceIsRefused() {
    assertThatThrownBy(() -> new Consistency(SPEC, "nope", PointInTimeRule.LOG_ORDER))
        .hasMessage("the spec declares no source 'nope'");
  }
}
