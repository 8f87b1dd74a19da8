package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.RejectReason;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EventValidatorTest {
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-11-24T10:00:00Z"), ZoneOffset.UTC);
  private static final RecordOrigin ORIGIN = new RecordOrigin("raw.payments", 3, 42);
  private final EventValidator validator =
      new EventValidator(FeatureSpecTest.payments(), CLOCK, 4096);

  private Validation validate(String json) {
    return validator.validate(json.getBytes(StandardCharsets.UTF_8), ORIGIN);
  }

  private static String valid() {
    return """
        {"user_id":"u1","txn_id":"t1","ts":1795510800000,"amount":12.5,"merchant_id":"m9",
         "country":"DE","card_present":true,"items":3,"unknown_extra":{"a":[1,2]}}""";
  }

  @Test
  void turnsAValidRecordIntoAKeyedTypedEvent() {
    Validation result = validate(valid());

    assertThat(result).isInstanceOf(Validation.Valid.class);
    Event event = ((Validation.Valid) result).event();
    assertThat(event.getSource()).isEqualTo("payments");
    assertThat(event.getEntityId()).isEqualTo("u1");
    assertThat(event.getEventId()).isEqualTo("t1");
    assertThat(event.getEventTimeMs()).isEqualTo(1795510800000L);
    assertThat(event.getIngestTimeMs()).isEqualTo(CLOCK.millis());
    assertThat(event.getRawTopic()).isEqualTo("raw.payments");
    assertThat(event.getRawPartition()).isEqualTo(3);
    assertThat(event.getRawOffset()).isEqualTo(42);
    assertThat(event.getFieldsMap())
        .containsOnlyKeys("amount", "merchant_id", "country", "card_present", "items");
    assertThat(event.getFieldsOrThrow("amount").getDoubleValue()).isEqualTo(12.5);
    assertThat(event.getFieldsOrThrow("items").getLongValue()).isEqualTo(3);
    assertThat(event.getFieldsOrThrow("card_present").getBoolValue()).isTrue();
  }

  @Test
  void acceptsIsoTimesAndTreatsNullOptionalFieldsAsAbsent() {
    Validation result =
        validate(
            """
            {"user_id":"u1","txn_id":"t1","ts":"2026-11-24T10:00:00.250+01:00","amount":0,
             "merchant_id":"m","country":null}""");

    Event event = ((Validation.Valid) result).event();
    assertThat(event.getEventTimeMs())
        .isEqualTo(Instant.parse("2026-11-24T09:00:00.250Z").toEpochMilli());
    assertThat(event.getFieldsMap()).doesNotContainKey("country");
  }

  @Test
  void derivesTheEventIdFromTheRecordWhenTheSourceDeclaresNone() {
    SourceSpec noId =
        new SourceSpec(
            "clicks",
            "user",
            Optional.empty(),
            "at",
            Map.of(
                "user",
                FieldSpec.required("user", FieldType.LONG),
                "at",
                FieldSpec.required("at", FieldType.TIMESTAMP)));
    Validation result =
        new EventValidator(noId, CLOCK)
            .validate(
                ("{\"user\":7,\"at\":" + CLOCK.millis() + "}").getBytes(StandardCharsets.UTF_8),
                ORIGIN);

    Event event = ((Validation.Valid) result).event();
    assertThat(event.getEntityId()).isEqualTo("7");
    assertThat(event.getEventId()).isEqualTo("raw.payments-3-42");
    assertThat(event.getFieldsMap()).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          not json                       | MALFORMED     |          | malformed JSON at line 1 column 5: Unrecognized token 'not'
          [1,2]                          | MALFORMED     |          | payload is not a JSON object
          {"user_id":"u1"} {}            | MALFORMED     |          | payload has content after its JSON object
          {"user_id":"u1","txn_id":"t","ts":1,"amount":-3.5,"merchant_id":"m"} | OUT_OF_RANGE | amount | field 'amount' must be >= 0, got -3.5
          {"user_id":"u1","txn_id":"t","ts":1,"amount":1e400,"merchant_id":"m"} | OUT_OF_RANGE | amount | field 'amount' must be finite
          {"user_id":"u1","txn_id":"t","ts":1,"amount":"12","merchant_id":"m"}  | WRONG_TYPE   | amount | field 'amount' must be a number, got the string '12'
          {"user_id":"u1","txn_id":"t","ts":1,"amount":1,"merchant_id":"m","items":2.5} | WRONG_TYPE | items | field 'items' must be an integer, got the number 2.5
          {"user_id":"u1","txn_id":"t","ts":1,"amount":1,"merchant_id":"m","items":99999999999999999999} | OUT_OF_RANGE | items | field 'items' does not fit a 64-bit integer: 99999999999999999999
          {"user_id":"u1","txn_id":"t","ts":"yesterday","amount":1,"merchant_id":"m"} | WRONG_TYPE | ts | field 'ts' must be epoch milliseconds or an ISO-8601 time with offset, got 'yesterday'
          {"user_id":["u1"],"txn_id":"t","ts":1,"amount":1,"merchant_id":"m"} | WRONG_TYPE | user_id | field 'user_id' must be a string, got an array
          {"user_id":"u1","txn_id":"t","ts":1,"amount":1}                   | MISSING_FIELD | merchant_id | required field 'merchant_id' is missing or null
          {"user_id":"","txn_id":"t","ts":1,"amount":1,"merchant_id":"m"}   | MISSING_FIELD | user_id | key field 'user_id' must not be empty
          """)
  void rejectsWithTheReasonFieldAndMessage(
      String json, String reason, String field, String message) {
    Validation result = validate(json);

    assertThat(result).isInstanceOf(Validation.Invalid.class);
    Validation.Invalid invalid = (Validation.Invalid) result;
    assertThat(invalid.reason()).isEqualTo(RejectReason.valueOf("REJECT_REASON_" + reason));
    assertThat(invalid.field()).isEqualTo(field == null ? "" : field);
    assertThat(invalid.message()).startsWith(message);
  }

  @Test
  void rejectsEmptyAndOversizedPayloads() {
    assertThat(validator.validate(new byte[0], ORIGIN))
        .isEqualTo(
            new Validation.Invalid(RejectReason.REJECT_REASON_MALFORMED, "", "payload is empty"));
    byte[] big = ("{\"pad\":\"" + "x".repeat(5000) + "\"}").getBytes(StandardCharsets.UTF_8);
    assertThat(((Validation.Invalid) validator.validate(big, ORIGIN)).reason())
        .isEqualTo(RejectReason.REJECT_REASON_TOO_LARGE);
    byte[] badUtf8 = {'{', '"', 'a', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'};
    assertThat(((Validation.Invalid) validator.validate(badUtf8, ORIGIN)).reason())
        .isEqualTo(RejectReason.REJECT_REASON_MALFORMED);
  }

  /** Count in = count valid + count rejected, and each corruption yields its own reason. */
  @Test
  void everyGeneratedRecordGetsExactlyOneOutcomeWithTheExpectedReason() {
    Random random = new Random(20261124);
    int total = 20_000;
    Map<RejectReason, Integer> expected = new EnumMap<>(RejectReason.class);
    Map<RejectReason, Integer> actual = new EnumMap<>(RejectReason.class);
    int expectedValid = 0;
    int valid = 0;
    for (int i = 0; i < total; i++) {
      double amount = Math.round(random.nextDouble() * 100_000) / 100.0;
      String user = "u" + random.nextInt(1000);
      String json =
          "{\"user_id\":\"%s\",\"txn_id\":\"t%d\",\"ts\":%d,\"amount\":%s,\"merchant_id\":\"m%d\"}"
              .formatted(user, i, 1_795_510_800_000L + i, amount, random.nextInt(50));
      RejectReason corruption = null;
      switch (random.nextInt(10)) {
        case 0 -> {
          json = json.substring(0, random.nextInt(json.length() - 1));
          corruption = RejectReason.REJECT_REASON_MALFORMED;
        }
        case 1 -> {
          json = json.replace(",\"merchant_id\"", ",\"other\"");
          corruption = RejectReason.REJECT_REASON_MISSING_FIELD;
        }
        case 2 -> {
          json = json.replace("\"amount\":" + amount, "\"amount\":\"" + amount + "\"");
          corruption = RejectReason.REJECT_REASON_WRONG_TYPE;
        }
        case 3 -> {
          json = json.replace("\"amount\":" + amount, "\"amount\":-" + (amount + 1));
          corruption = RejectReason.REJECT_REASON_OUT_OF_RANGE;
        }
        default -> {}
      }
      if (corruption == null) {
        expectedValid++;
      } else {
        expected.merge(corruption, 1, Integer::sum);
      }
      Validation result = validate(json);
      if (result instanceof Validation.Valid v) {
        valid++;
        assertThat(v.event().getEntityId()).isEqualTo(user);
        assertThat(v.event().getFieldsOrThrow("amount").getDoubleValue()).isEqualTo(amount);
      } else if (result instanceof Validation.Invalid inv) {
        actual.merge(inv.reason(), 1, Integer::sum);
        assertThat(inv.reason()).as(json).isEqualTo(corruption);
      }
    }
    int rejected = actual.values().stream().mapToInt(Integer::intValue).sum();
    assertThat(valid + rejected).isEqualTo(total);
    assertThat(valid).isEqualTo(expectedValid);
    assertThat(actual).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          4102444800000               | is 2100-01-01T00:00:00Z, more than 15m after the record arrived (2026-11-24T10:00:00Z)
          9223372036854775807         | is 9223372036854775807 ms, outside the years 1970 to 9999
          "+10000-01-01T00:00:00Z"    | is 253402300800000 ms, outside the years 1970 to 9999
          -1                          | is -1 ms, outside the years 1970 to 9999
          -9223372036854775808        | is -9223372036854775808 ms, outside the years 1970 to 9999
          "1900-01-01T00:00:00Z"      | is -2208988800000 ms, outside the years 1970 to 9999
          1795510800                  | is 1970-01-21T18:45:10.800Z, more than 30d before the record arrived (2026-11-24T10:00:00Z)
          1795515300001               | is 2026-11-24T10:15:00.001Z, more than 15m after the record arrived (2026-11-24T10:00:00Z)
          """)
  void rejectsEventTimesOutsideTheWindowAroundArrival(String ts, String problem) {
    String json =
        "{\"user_id\":\"u1\",\"txn_id\":\"t\",\"ts\":%s,\"amount\":1,\"merchant_id\":\"m\"}"
            .formatted(ts);

    Validation result = validate(json);

    assertThat(result)
        .isEqualTo(
            new Validation.Invalid(
                RejectReason.REJECT_REASON_TIME_OUT_OF_WINDOW, "ts", "field 'ts' " + problem));
    assertThat(validator.check(json.getBytes(StandardCharsets.UTF_8)).problem()).isEqualTo(result);
  }

  @Test
  void measuresTheWindowFromTheRecordsArrivalAndAcceptsItsEdges() {
    long arrival = CLOCK.millis() - 86_400_000L;
    String atEdge =
        "{\"user_id\":\"u1\",\"txn_id\":\"t\",\"ts\":%d,\"amount\":1,\"merchant_id\":\"m\"}";
    byte[] latest = atEdge.formatted(arrival + 15 * 60_000).getBytes(StandardCharsets.UTF_8);
    byte[] earliest = atEdge.formatted(arrival - 30L * 86_400_000).getBytes(StandardCharsets.UTF_8);
    byte[] tooLate = atEdge.formatted(arrival + 15 * 60_000 + 1).getBytes(StandardCharsets.UTF_8);

    assertThat(validator.validate(latest, ORIGIN, arrival)).isInstanceOf(Validation.Valid.class);
    assertThat(validator.validate(earliest, ORIGIN, arrival)).isInstanceOf(Validation.Valid.class);
    assertThat(((Validation.Invalid) validator.validate(tooLate, ORIGIN, arrival)).reason())
        .isEqualTo(RejectReason.REJECT_REASON_TIME_OUT_OF_WINDOW);
  }

  @Test
  void rejectsInputsPastJacksonsLimitsWithAReasonNeverAnException() {
    String deep = "[".repeat(100_000) + "]".repeat(100_000);
    String digits = "9".repeat(5_000);
    String base = "{\"user_id\":\"u1\",\"txn_id\":\"t\",\"ts\":%d,\"merchant_id\":\"m\",%s}";
    EventValidator roomy = new EventValidator(FeatureSpecTest.payments(), CLOCK, 1 << 20);

    Validation nested =
        roomy.validate(
            base.formatted(CLOCK.millis(), "\"extra\":" + deep + ",\"amount\":1")
                .getBytes(StandardCharsets.UTF_8),
            ORIGIN);
    Validation longNumber =
        roomy.validate(
            base.formatted(CLOCK.millis(), "\"amount\":" + digits).getBytes(StandardCharsets.UTF_8),
            ORIGIN);

    assertThat(nested)
        .isEqualTo(
            new Validation.Invalid(
                RejectReason.REJECT_REASON_MALFORMED,
                "",
                "payload exceeds a JSON limit: Document nesting depth (65) exceeds the maximum"
                    + " allowed (64, from `StreamReadConstraints.getMaxNestingDepth()`)"));
    assertThat(((Validation.Invalid) longNumber).reason())
        .isEqualTo(RejectReason.REJECT_REASON_MALFORMED);
    assertThat(((Validation.Invalid) longNumber).message())
        .startsWith("payload exceeds a JSON limit: Number value length");
  }

  @Test
  void rejectsStringsWithUnpairedSurrogates() {
    String json =
        "{\"user_id\":\"u\\ud800\",\"txn_id\":\"t\",\"ts\":%d,\"amount\":1,\"merchant_id\":\"m\"}"
            .formatted(CLOCK.millis());

    assertThat(validate(json))
        .isEqualTo(
            new Validation.Invalid(
                RejectReason.REJECT_REASON_WRONG_TYPE,
                "user_id",
                "field 'user_id' is not valid Unicode: it has an unpaired surrogate escape"));
  }

  @Test
  void rejectsAnEventWhoseRecordWouldPassKafkasLimitEvenIfThePayloadFits() {
    EventValidator large = new EventValidator(FeatureSpecTest.payments(), CLOCK, 2 << 20);
    String merchant = "m".repeat(1_200_000);
    byte[] json =
        "{\"user_id\":\"u\",\"txn_id\":\"t\",\"ts\":%d,\"amount\":1,\"merchant_id\":\"%s\"}"
            .formatted(CLOCK.millis(), merchant)
            .getBytes(StandardCharsets.UTF_8);

    Validation result = large.validate(json, ORIGIN);

    assertThat(((Validation.Invalid) result).reason())
        .isEqualTo(RejectReason.REJECT_REASON_TOO_LARGE);
    assertThat(((Validation.Invalid) result).message())
        .startsWith("the validated event is 1200")
        .endsWith("bytes with its key; the limit is 1000000");
    assertThat(large.check(json).problem().reason())
        .isEqualTo(RejectReason.REJECT_REASON_TOO_LARGE);
  }

  /** Random bytes and random mutations of valid records: one outcome each, never an exception. */
  @Test
  void neverThrowsOnRandomBytesOrMutatedRecords() {
    Random random = new Random(16);
    byte[] good = valid().getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < 20_000; i++) {
      byte[] input;
      if (i % 2 == 0) {
        input = new byte[random.nextInt(200)];
        random.nextBytes(input);
      } else {
        input = good.clone();
        for (int m = 0; m <= random.nextInt(4); m++) {
          input[random.nextInt(input.length)] = (byte) random.nextInt(256);
        }
      }
      Validation result = validator.validate(input, ORIGIN);
      EventValidator.Check check = validator.check(input);
      assertThat(check.valid()).isEqualTo(result instanceof Validation.Valid);
      if (result instanceof Validation.Invalid invalid) {
        assertThat(invalid.message()).isNotBlank().hasSizeLessThanOrEqualTo(2_000);
      }
    }
  }

  @Test
  void rejectsIdsLongerThanTheLimitAtEveryLengthPastIt() {
    String at = "u".repeat(EventValidator.MAX_ID_CHARS);
    String past = at + "u";
    String json =
        "{\"user_id\":\"%s\",\"txn_id\":\"%s\",\"ts\":%d,\"amount\":1,\"merchant_id\":\"m\"}";

    assertThat(validate(json.formatted(at, "t", CLOCK.millis())))
        .isInstanceOf(Validation.Valid.class);
    assertThat(validate(json.formatted(past, "t", CLOCK.millis())))
        .isEqualTo(
            new Validation.Invalid(
                RejectReason.REJECT_REASON_TOO_LARGE,
                "user_id",
                "key field 'user_id' is 1025 characters long; the limit is 1024"));
    assertThat(((Validation.Invalid) validate(json.formatted("u", past, CLOCK.millis()))).field())
        .isEqualTo("txn_id");
  }
}
