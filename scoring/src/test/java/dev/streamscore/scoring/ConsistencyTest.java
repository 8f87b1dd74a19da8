package dev.streamscore.scoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.etl.FeatureSpec;
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

  /** Inputs: txn_count_1h, amount_mean_1h (default -1), then the request's amount. */
  private static final ModelVersionSpec MODEL = Node.spec(MissingPolicy.MISSING_POLICY_USE_DEFAULT);

  private static Event payment(int i) {
    return Event.newBuilder()
        .setSource("payments")
        .setEntityId("u1")
        .setEventId("t" + i)
        .setEventTimeMs(T0 + i * 1_000L)
        .putFields("amount", Value.newBuilder().setDoubleValue(10.0 * (i + 1)).build())
        .putFields("merchant_id", Value.newBuilder().setStringValue("m" + i).build())
        .build();
  }

  /** Payment i's training row: i payments before it, their mean amount, its own amount. */
  private static Prediction.Builder trained(int i) {
    Prediction.Builder p =
        Prediction.newBuilder().setEventId("t" + i).setModelName("fraud").setModelVersion(1);
    p.addFeatures(i).addFeatures(i == 0 ? -1 : 5.0 * (i + 1)).addFeatures(10.0 * (i + 1));
    return p;
  }

  @Test
  void aPredictionServedItsTrainingRowIsIdenticalAndAnyOtherValueIsAMismatchOfItsInput() {
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      events.add(payment(i));
    }
    List<Prediction> predictions = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      predictions.add(trained(i).build());
    }
    // Served with its own payment counted: the leak the check exists to find.
    predictions.add(trained(3).setFeatures(0, 4).build());
    predictions.add(trained(2).clearFeatures().build()); // logged no inputs
    predictions.add(trained(9).build()); // an event that is not in the log

    Consistency.Report report =
        new Consistency(SPEC, "payments").check(events, Map.of(1L, MODEL), predictions);

    assertThat(report.predictions()).isEqualTo(8);
    assertThat(report.compared()).isEqualTo(6);
    assertThat(report.identical()).isEqualTo(5);
    assertThat(report.withoutInputs()).isEqualTo(1);
    assertThat(report.withoutEvent()).isEqualTo(1);
    assertThat(report.inputs())
        .extracting(s -> s.input() + " " + s.mismatches() + " " + s.servedHigher())
        .containsExactly("user_txn:txn_count_1h 1 1", "user_txn:amount_mean_1h 0 0", "amount 0 0");
    assertThat(report.inputs().get(0).largestDifference()).isEqualTo(1.0);
    assertThat(report.summary())
        .isEqualTo("5 of 6 stream predictions identical to their training rows (83.3%)");
  }

  @Test
  void anUndeclaredSourceIsRefused() {
    assertThatThrownBy(() -> new Consistency(SPEC, "nope"))
        .hasMessage("the spec declares no source 'nope'");
  }
}
