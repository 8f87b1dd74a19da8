package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.Value;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;

class SplitTest {
  private static final FeatureSpec SPEC = FeatureSpec.shippedPayments();

  private static List<Event> payments(int n, IntPredicate fraud) {
    List<Event> log = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      log.add(
          Event.newBuilder()
              .setEventId("e" + i)
              .setEntityId("u" + (i % 7))
              .setEventTimeMs(1_000_000L + 1_000L * i)
              .putFields("amount", Value.newBuilder().setDoubleValue(10 + i % 13).build())
              .putFields("card_present", Value.newBuilder().setBoolValue(i % 2 == 0).build())
              .putFields("is_fraud", Value.newBuilder().setBoolValue(fraud.test(i)).build())
              .build());
    }
    return log;
  }

  private static TrainCommand.Split split(List<Event> log) {
    return TrainCommand.Split.of(
        SPEC, log, "events.payments", "is_fraud", null, null, List.of(0.7, 0.15));
  }

  @Test
  void rowsAreSplitByTimeSeventyFifteenFifteen() {
    TrainCommand.Split s = split(payments(200, i -> i % 10 == 0));
    assertThat(s.train()).hasSize(140);
    assertThat(s.validation()).hasSize(30);
    assertThat(s.heldOut()).hasSize(30);
    assertThat(s.trainEndMs()).isEqualTo(1_000_000L + 140_000L);
    assertThat(s.validationEndMs()).isEqualTo(1_000_000L + 170_000L);
  }

  @Test
  void aLabelThatIsNeverPositiveIsOneLineNamingThePart() {
    assertThatThrownBy(() -> split(payments(200, i -> false)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "the label 'is_fraud' is never true in the training rows (140 rows); nothing to learn"
                + " or measure");
    // Positive only in the first 70%: nothing to validate against.
    assertThatThrownBy(() -> split(payments(200, i -> i < 100 && i % 10 == 0)))
        .hasMessageStartingWith("the label 'is_fraud' is never true in the validation rows (30");
    assertThatThrownBy(() -> split(payments(200, i -> i < 170 && i % 10 == 0)))
        .hasMessageStartingWith("the label 'is_fraud' is never true in the held-out rows (30");
  }

  @Test
  void tooFewEventsOrNoLabelAtAllAreOneLineEach() {
    assertThatThrownBy(() -> split(payments(99, i -> true)))
        .hasMessage(
            "99 events of events.payments between the start and the end; at least 100 are needed");
    assertThatThrownBy(
            () ->
                TrainCommand.Split.of(
                    SPEC,
                    payments(150, i -> true),
                    "events.payments",
                    "chargeback",
                    null,
                    null,
                    List.of(0.7, 0.15)))
        .hasMessage(
            "no event of events.payments between the start and the end has the field"
                + " 'chargeback'");
  }
}
