package dev.streamscore.ingest.generator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.etl.EventValidator;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.etl.Validation;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.RejectReason;
import java.time.Clock;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PaymentsGeneratorTest {
  private static final Instant NOW = Instant.parse("2026-11-24T12:00:00Z");
  private final EventValidator validator =
      new EventValidator(
          FeatureSpec.shippedPayments().source("payments").orElseThrow(),
          Clock.fixed(NOW, ZoneOffset.UTC));

  private Validation validate(GeneratedEvent e) {
    return validator.validate(e.json(), new RecordOrigin("raw.payments", 0, 0));
  }

  @Test
  void everyEventIsJudgedByTheValidatorAndTheGatewayCheckExactlyAsItsLabelSays() {
    PaymentsGenerator generator =
        new PaymentsGenerator(
            GeneratorConfig.defaults(1).withRates(0.2, 0.05, 0.1), InstantSource.fixed(NOW));
    Map<GeneratedEvent.Kind, Integer> kinds = new EnumMap<>(GeneratedEvent.Kind.class);
    Map<RejectReason, Integer> reasons = new EnumMap<>(RejectReason.class);
    for (int i = 0; i < 50_000; i++) {
      GeneratedEvent event = generator.next();
      kinds.merge(event.kind(), 1, Integer::sum);
      Validation result = validate(event);
      // The gateway's check applies the same rules without building the event.
      EventValidator.Check check = validator.check(event.json());
      assertThat(check.valid()).isEqualTo(result instanceof Validation.Valid);
      if (result instanceof Validation.Invalid invalid) {
        assertThat(check.problem()).isEqualTo(invalid);
      } else {
        assertThat(check.entityId()).isEqualTo(((Validation.Valid) result).event().getEntityId());
      }
      if (event.valid()) {
        assertThat(result).as(new String(event.json())).isInstanceOf(Validation.Valid.class);
        assertThat(((Validation.Valid) result).event().getEntityId()).isEqualTo(event.key());
      } else {
        assertThat(result).as(new String(event.json())).isInstanceOf(Validation.Invalid.class);
        assertThat(((Validation.Invalid) result).reason()).isEqualTo(event.expectedReject());
        reasons.merge(event.expectedReject(), 1, Integer::sum);
      }
    }
    // Rates are honoured within a few percent, and every kind of breakage occurs.
    assertThat(kinds.get(GeneratedEvent.Kind.INVALID)).isBetween(9_500, 10_500);
    assertThat(kinds.get(GeneratedEvent.Kind.DUPLICATE)).isBetween(2_200, 2_800);
    assertThat(reasons)
        .containsOnlyKeys(
            RejectReason.REJECT_REASON_MALFORMED,
            RejectReason.REJECT_REASON_MISSING_FIELD,
            RejectReason.REJECT_REASON_WRONG_TYPE,
            RejectReason.REJECT_REASON_OUT_OF_RANGE);
  }

  @Test
  void duplicatesRepeatAnEarlierEventByteForByte() {
    PaymentsGenerator generator =
        new PaymentsGenerator(
            GeneratorConfig.defaults(2).withRates(0, 0.1, 0), InstantSource.fixed(NOW));
    Map<String, byte[]> seen = new HashMap<>();
    int duplicates = 0;
    for (int i = 0; i < 5_000; i++) {
      GeneratedEvent event = generator.next();
      String txn = ((Validation.Valid) validate(event)).event().getEventId();
      if (event.kind() == GeneratedEvent.Kind.DUPLICATE) {
        duplicates++;
        assertThat(seen).containsKey(txn);
        assertThat(Arrays.equals(seen.get(txn), event.json())).isTrue();
      } else {
        assertThat(seen.put(txn, event.json())).as("a fresh event reuses id " + txn).isNull();
      }
    }
    assertThat(duplicates).isPositive();
  }

  @Test
  void theSameSeedGivesTheSameStreamAndUserPopularityIsSkewed() {
    GeneratorConfig config = GeneratorConfig.defaults(3).withPopulation(1_000, 100);
    PaymentsGenerator a = new PaymentsGenerator(config, InstantSource.fixed(NOW));
    PaymentsGenerator b = new PaymentsGenerator(config, InstantSource.fixed(NOW));
    Map<String, Integer> perUser = new HashMap<>();
    for (int i = 0; i < 20_000; i++) {
      GeneratedEvent x = a.next();
      assertThat(b.next().json()).isEqualTo(x.json());
      if (x.key() != null) {
        perUser.merge(x.key(), 1, Integer::sum);
      }
    }
    // Zipf 1.1 over 1,000 users: the top user has far more than the uniform 20 events.
    assertThat(perUser.get("u0")).isGreaterThan(1_000);
    assertThat(perUser.get("u0")).isGreaterThan(10 * perUser.getOrDefault("u500", 1));
  }

  @Test
  void outOfOrderEventsLieInThePastWithinTheConfiguredDisorder() {
    PaymentsGenerator generator =
        new PaymentsGenerator(
            GeneratorConfig.defaults(4).withRates(0, 0, 0.5), InstantSource.fixed(NOW));
    int late = 0;
    for (int i = 0; i < 2_000; i++) {
      GeneratedEvent event = generator.next();
      long t = ((Validation.Valid) validate(event)).event().getEventTimeMs();
      if (event.kind() == GeneratedEvent.Kind.OUT_OF_ORDER) {
        late++;
        assertThat(t)
            .isLessThan(NOW.toEpochMilli())
            .isGreaterThanOrEqualTo(NOW.toEpochMilli() - 120_000);
      } else {
        assertThat(t).isEqualTo(NOW.toEpochMilli());
      }
    }
    assertThat(late).isBetween(900, 1_100);
  }

  @Test
  void anAmountShiftMovesEveryAmountByThatManyStandardDeviationsAndNothingElse() {
    GeneratorConfig config = GeneratorConfig.defaults(5).withRates(0, 0, 0).withFraudRate(0);
    PaymentsGenerator plain = new PaymentsGenerator(config, InstantSource.fixed(NOW));
    PaymentsGenerator shifted =
        new PaymentsGenerator(config.withAmountShift(0.5), InstantSource.fixed(NOW));
    double sum = 0;
    double sumSquares = 0;
    int n = 200_000;
    for (int i = 0; i < n; i++) {
      Event a = ((Validation.Valid) validate(plain.next())).event();
      Event b = ((Validation.Valid) validate(shifted.next())).event();
      assertThat(b.getEntityId()).isEqualTo(a.getEntityId());
      // Each is rounded to cents, so they differ by the shift to within a cent.
      double amount = a.getFieldsMap().get("amount").getDoubleValue();
      assertThat(b.getFieldsMap().get("amount").getDoubleValue())
          .isCloseTo(
              amount + 0.5 * GeneratorConfig.AMOUNT_SD,
              org.assertj.core.data.Offset.offset(0.01 + 1e-9));
      sum += amount;
      sumSquares += amount * amount;
    }
    double sd = Math.sqrt(sumSquares / n - (sum / n) * (sum / n));
    // The analytic standard deviation is the sample's, to within the sample's own noise.
    assertThat(sd)
        .isCloseTo(GeneratorConfig.AMOUNT_SD, org.assertj.core.data.Percentage.withPercentage(5));
    assertThatThrownBy(() -> config.withAmountShift(Double.NaN))
        .hasMessage("amountShift must be between -100 and 100 standard deviations, got NaN");
  }
}
