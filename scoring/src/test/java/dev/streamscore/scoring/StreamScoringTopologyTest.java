package dev.streamscore.scoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.TopicNames;
import dev.streamscore.modelsync.ModelAlias;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.Messages;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.MissingPolicy;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.RejectReason;
import dev.streamscore.proto.v1.Value;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stream scoring's topology without a broker, over a real scoring node (its store, its agent, its
 * scorer): every event has exactly one outcome, a prediction or an UNSCORABLE dead letter.
 */
class StreamScoringTopologyTest {
  private static final Instant NOW = Instant.ofEpochMilli(Node.NOW);
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

  @TempDir Path dir;
  private Node node;
  private TopologyTestDriver driver;
  private final StreamScoring.Tally tally = new StreamScoring.Tally();
  private TestInputTopic<String, byte[]> events;
  private TestOutputTopic<String, byte[]> predictions;
  private TestOutputTopic<String, byte[]> dlq;

  @BeforeEach
  void start() throws Exception {
    node = new Node(dir);
    node.payments("u1", 5);
    node.client.register(
        TestModels.logisticRegression(dir.resolve("v1.onnx"), 3, 1),
        Node.spec(MissingPolicy.MISSING_POLICY_REJECT));
    long revision = node.client.promote("fraud", "prod", 1).getRevision();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> node.agent.servingRevision("fraud", "prod") >= revision);
    StreamScoring.Config config =
        new StreamScoring.Config(
            "unused:9092",
            "payments",
            new ModelAlias("fraud", "prod"),
            dir.resolve("streams"),
            TopicNames.DLQ);
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state").toString());
    driver =
        new TopologyTestDriver(
            StreamScoring.topology(config, node.node.scorer(), () -> true, CLOCK, tally),
            props,
            NOW);
    events =
        driver.createInputTopic(
            TopicNames.events("payments"), new StringSerializer(), new ByteArraySerializer());
    predictions =
        driver.createOutputTopic(
            TopicNames.predictions("fraud"), new StringDeserializer(), new ByteArrayDeserializer());
    dlq =
        driver.createOutputTopic(
            TopicNames.DLQ, new StringDeserializer(), new ByteArrayDeserializer());
  }

  @AfterEach
  void stop() throws Exception {
    driver.close();
    node.close();
  }

  private static Event payment(String user, String id, long timeMs) {
    return Event.newBuilder()
        .setSource("payments")
        .setEntityId(user)
        .setEventId(id)
        .setEventTimeMs(timeMs)
        .putFields("amount", Value.newBuilder().setDoubleValue(42).build())
        .putFields("merchant_id", Value.newBuilder().setStringValue("m1").build())
        .build();
  }

  /**
   * Five payments of u1, 1 s apart from T0, amounts 10 to 50, at offsets 0 to 4: the first is
   * unscorable (no mean amount before it, and the model refuses defaults), the others predicted.
   */
  private void history() throws Exception {
    for (int i = 0; i < 5; i++) {
      Event e =
          payment("u1", "p" + i, Node.T0 + i * 1_000L).toBuilder()
              .putFields("amount", Value.newBuilder().setDoubleValue(10.0 * (i + 1)).build())
              .build();
      events.pipeInput(new TestRecord<>("u1", e.toByteArray(), NOW));
    }
    List<Prediction> scored =
        predictions.readValuesToList().stream().map(StreamScoringTopologyTest::prediction).toList();
    // Each counts exactly the payments before it in the log.
    assertThat(scored).extracting(p -> p.getFeatures(0)).containsExactly(1.0, 2.0, 3.0, 4.0);
    assertThat(dlq.readValuesToList()).hasSize(1);
    tally.scored.set(0);
    tally.unscorable.set(0);
  }

  @Test
  void anEventOfAKnownEntityBecomesOnePredictionNamedAfterTheEvent() throws Exception {
    history();
    events.pipeInput(new TestRecord<>("u1", payment("u1", "t-9", Node.NOW).toByteArray(), NOW));

    TestRecord<String, byte[]> out = predictions.readRecord();
    Prediction p = Prediction.parseFrom(out.value());
    assertThat(out.key()).isEqualTo("u1");
    assertThat(p.getEventId()).isEqualTo("t-9");
    assertThat(p.getEventTimeMs()).isEqualTo(Node.NOW);
    assertThat(p.getModelName()).isEqualTo("fraud");
    assertThat(p.getModelVersion()).isEqualTo(1);
    assertThat(p.getAlias()).isEqualTo("prod");
    assertThat(p.getRequestId()).isEqualTo(TopicNames.events("payments") + "-0-5");
    assertThat(p.getScoresCount()).isEqualTo(2);
    // Its input vector: five payments counted, their mean amount, the event's own amount.
    assertThat(p.getFeaturesList()).containsExactly(5.0, 30.0, 42.0);
    assertThat(dlq.isEmpty()).isTrue();
    assertThat(tally.scored.get()).isEqualTo(1);
  }

  @Test
  void everyEventHasExactlyOneOutcomeAndEachUnscorableOneItsReason() throws Exception {
    history();
    byte[] random = new byte[256];
    new Random(7).nextBytes(random);
    List<TestRecord<String, byte[]>> in =
        List.of(
            new TestRecord<>("u1", payment("u1", "ok", Node.NOW).toByteArray(), NOW),
            new TestRecord<>("u1", random, NOW),
            new TestRecord<>("u1", new byte[0], NOW),
            new TestRecord<>("u1", (byte[]) null, NOW),
            // no stored features for a stranger, and the model refuses defaults
            new TestRecord<>("x", payment("stranger", "nobody", Node.NOW).toByteArray(), NOW),
            new TestRecord<>(
                "u1", payment("u1", "future", 253_402_300_800_000L + 1).toByteArray(), NOW),
            new TestRecord<>("u1", payment("u1", "past", -1).toByteArray(), NOW),
            new TestRecord<>(
                "u1",
                payment("u1", "other", Node.NOW).toBuilder()
                    .setSource("nope")
                    .build()
                    .toByteArray(),
                NOW),
            new TestRecord<>("u1", payment("u1", "ok-2", Node.NOW).toByteArray(), NOW));
    events.pipeRecordList(in);

    List<Prediction> scoredOut =
        predictions.readValuesToList().stream().map(StreamScoringTopologyTest::prediction).toList();
    List<DeadLetter> letters =
        dlq.readValuesToList().stream().map(StreamScoringTopologyTest::letter).toList();

    assertThat(scoredOut).extracting(Prediction::getEventId).containsExactly("ok", "ok-2");
    assertThat(letters).hasSize(in.size() - 2);
    assertThat(letters)
        .allSatisfy(
            l -> {
              assertThat(l.getReason()).isEqualTo(RejectReason.REJECT_REASON_UNSCORABLE);
              assertThat(l.getMessage()).startsWith("fraud/prod: ");
              assertThat(l.getSourceTopic()).isEqualTo(TopicNames.events("payments"));
            });
    assertThat(letters)
        .extracting(DeadLetter::getSourceOffset)
        .containsExactly(6L, 7L, 8L, 9L, 10L, 11L, 12L);
    assertThat(letters.get(0).getMessage()).contains("not an Event protobuf");
    assertThat(letters.get(0).getOriginalValue().toByteArray()).isEqualTo(random);
    assertThat(letters.get(3).getMessage()).contains("is missing for user_id 'stranger'");
    assertThat(letters.get(4).getMessage()).contains("outside the years 1970 to 9999");
    assertThat(letters.get(6).getMessage()).contains("no source 'nope'");
    assertThat(tally.counts().scored() + tally.counts().unscorable()).isEqualTo(in.size());
  }

  private static Prediction prediction(byte[] bytes) {
    return Messages.parse(Prediction.parser(), bytes);
  }

  private static DeadLetter letter(byte[] bytes) {
    return Messages.parse(DeadLetter.parser(), bytes);
  }
}
