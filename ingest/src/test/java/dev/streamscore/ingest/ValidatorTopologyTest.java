package dev.streamscore.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.RejectReason;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The validator's topology without a broker: every record has exactly one outcome. */
class ValidatorTopologyTest {
  private static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

  private TopologyTestDriver driver;
  private IngestCounters counters;
  private TestInputTopic<byte[], byte[]> raw;
  private TestOutputTopic<byte[], byte[]> events;
  private TestOutputTopic<byte[], byte[]> dlq;

  @BeforeEach
  void start() {
    counters = new IngestCounters();
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "validator-test");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    driver =
        new TopologyTestDriver(
            ValidatorTopology.build(FeatureSpec.shippedPayments(), TopicNames.DLQ, counters, CLOCK),
            props,
            NOW);
    raw =
        driver.createInputTopic(
            TopicNames.raw("payments"), new ByteArraySerializer(), new ByteArraySerializer());
    events =
        driver.createOutputTopic(
            TopicNames.events("payments"),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer());
    dlq =
        driver.createOutputTopic(
            TopicNames.DLQ, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  @AfterEach
  void stop() {
    driver.close();
  }

  private static byte[] payment(String txn, long ts, String amount) {
    return ("{\"user_id\":\"u1\",\"txn_id\":\"%s\",\"ts\":%d,\"amount\":%s,\"merchant_id\":\"m\"}"
            .formatted(txn, ts, amount))
        .getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aValidRecordBecomesAnEventKeyedByItsEntityAndTimedNoLaterThanItsArrival() throws Exception {
    long ts = NOW.toEpochMilli() + 60_000; // a minute ahead: inside the 15-minute window
    raw.pipeInput(new TestRecord<>(null, payment("t1", ts, "12.5"), NOW));

    TestRecord<byte[], byte[]> out = events.readRecord();
    Event event = Event.parseFrom(out.value());
    assertThat(new String(out.key(), StandardCharsets.UTF_8)).isEqualTo("u1");
    assertThat(event.getEventTimeMs()).isEqualTo(ts);
    assertThat(out.timestamp()).isEqualTo(NOW.toEpochMilli());
    assertThat(event.getRawTopic()).isEqualTo("raw.payments");
    assertThat(dlq.isEmpty()).isTrue();
  }

  @Test
  void everyRecordHasExactlyOneOutcomeAndEachRejectionItsReason() throws Exception {
    long now = NOW.toEpochMilli();
    List<byte[]> inputs = new ArrayList<>();
    List<RejectReason> expected = new ArrayList<>();
    inputs.add(payment("ok1", now, "1"));
    expected.add(null);
    inputs.add("not json".getBytes(StandardCharsets.UTF_8));
    expected.add(RejectReason.REJECT_REASON_MALFORMED);
    inputs.add(payment("t2", now, "\"12\""));
    expected.add(RejectReason.REJECT_REASON_WRONG_TYPE);
    inputs.add(payment("t3", now, "-1"));
    expected.add(RejectReason.REJECT_REASON_OUT_OF_RANGE);
    inputs.add("{\"user_id\":\"u1\",\"txn_id\":\"t4\",\"ts\":1,\"amount\":1}".getBytes());
    expected.add(RejectReason.REJECT_REASON_MISSING_FIELD);
    inputs.add(payment("t5", 4_102_444_800_000L, "1"));
    expected.add(RejectReason.REJECT_REASON_TIME_OUT_OF_WINDOW);
    inputs.add(payment("t6", -1, "1"));
    expected.add(RejectReason.REJECT_REASON_TIME_OUT_OF_WINDOW);
    inputs.add(payment("t7", now, "9".repeat(5_000)));
    expected.add(RejectReason.REJECT_REASON_MALFORMED);
    inputs.add(null);
    expected.add(RejectReason.REJECT_REASON_MALFORMED);
    inputs.add(payment("ok2", now - 1_000, "2"));
    expected.add(null);
    for (byte[] input : inputs) {
      raw.pipeInput(new TestRecord<>(null, input, NOW));
    }

    List<TestRecord<byte[], byte[]>> accepted = events.readRecordsToList();
    List<TestRecord<byte[], byte[]>> rejected = dlq.readRecordsToList();

    assertThat(accepted.size() + rejected.size()).isEqualTo(inputs.size());
    assertThat(accepted).hasSize((int) expected.stream().filter(r -> r == null).count());
    List<RejectReason> reasons = new ArrayList<>();
    for (TestRecord<byte[], byte[]> r : rejected) {
      DeadLetter letter = DeadLetter.parseFrom(r.value());
      reasons.add(letter.getReason());
      assertThat(letter.getStage()).isEqualTo("validator");
      assertThat(letter.getMessage()).isNotBlank();
    }
    assertThat(reasons)
        .containsExactlyElementsOf(expected.stream().filter(r -> r != null).toList());
    assertThat(counters.get("payments.received")).isEqualTo(inputs.size());
    assertThat(counters.get("payments.valid")).isEqualTo(accepted.size());
  }

  @Test
  void aRecordOfAnUndeclaredSourceIsAnUnknownSourceDeadLetter() throws Exception {
    TestInputTopic<byte[], byte[]> refunds =
        driver.createInputTopic(
            "raw.refunds", new ByteArraySerializer(), new ByteArraySerializer());

    refunds.pipeInput(new TestRecord<>(null, "{}".getBytes(StandardCharsets.UTF_8), NOW));

    DeadLetter letter = DeadLetter.parseFrom(dlq.readValue());
    assertThat(letter.getReason()).isEqualTo(RejectReason.REJECT_REASON_UNKNOWN_SOURCE);
    assertThat(letter.getSource()).isEqualTo("refunds");
    assertThat(events.isEmpty()).isTrue();
  }
}
