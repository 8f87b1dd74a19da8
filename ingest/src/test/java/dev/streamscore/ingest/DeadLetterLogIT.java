package dev.streamscore.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.ingest.DeadLetterLog.RefusedException;
import dev.streamscore.kafka.TopicReader;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.Redrive;
import dev.streamscore.proto.v1.RejectReason;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeadLetterLogIT {
  private static final long BASE_TIME = System.currentTimeMillis() - 3_600_000L;
  private static final String VALIDATOR = "validator";

  private static String json(int i) {
    return "{\"user_id\":\"u%d\",\"txn_id\":\"t%d\",\"ts\":%d,\"amount\":%d.5,\"merchant_id\":\"m%d\"}"
        .formatted(i % 50, i, BASE_TIME + i, i % 900, i % 40);
  }

  @Test
  void lettersAreCountedByReasonAndRedrivenOnceAsTheyWereOrCorrected(@TempDir Path state)
      throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Validator validator =
            Validator.start(
                ValidatorConfig.defaults(kafka.bootstrapServers(), state),
                FeatureSpec.shippedPayments(),
                Clock.systemUTC());
        DeadLetterLog log = DeadLetterLog.start(kafka.bootstrapServers(), Clock.systemUTC())) {
      // 100 records: 10 lack merchant_id, 5 have a negative amount, 5 are cut in half.
      List<String> lines = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        String line = json(i);
        if (i % 10 == 0) {
          line = line.replace("\"merchant_id\"", "\"merchant\"");
        } else if (i % 20 == 1) {
          line = line.replace("\"amount\":", "\"amount\":-");
        } else if (i % 20 == 3) {
          line = line.substring(0, line.length() / 2);
        }
        lines.add(line);
      }
      produce(kafka, TopicNames.raw("payments"), lines);
      // Someone else's bytes on the dead-letter topic: skipped, never a reason to stop.
      produce(kafka, TopicNames.DLQ, List.of("not a dead letter"));

      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> log.summary().read() == 20 && log.summary().caughtUp());
      Map<RejectReason, Long> byReason = new HashMap<>();
      log.summary().counts().forEach(c -> byReason.merge(c.reason(), c.count(), Long::sum));
      assertThat(byReason)
          .containsExactlyInAnyOrderEntriesOf(
              Map.of(
                  RejectReason.REJECT_REASON_MISSING_FIELD, 10L,
                  RejectReason.REJECT_REASON_OUT_OF_RANGE, 5L,
                  RejectReason.REJECT_REASON_MALFORMED, 5L));
      assertThat(log.summary().counts().get(0).source()).isEqualTo("payments");

      List<DeadLetterLog.Letter> missing =
          log.samples("payments", VALIDATOR, RejectReason.REJECT_REASON_MISSING_FIELD);
      assertThat(missing).hasSize(10);
      DeadLetterLog.Letter first = missing.get(missing.size() - 1);
      String original = first.letter().getOriginalValue().toStringUtf8();
      assertThat(original).contains("\"merchant\"");

      // Corrected: the field renamed back. It becomes an event, and the redrive is recorded.
      byte[] fixed =
          original.replace("\"merchant\"", "\"merchant_id\"").getBytes(StandardCharsets.UTF_8);
      Redrive redrive =
          log.redrive(first.partition(), first.offset(), Optional.of(fixed), "test@127.0.0.1");
      assertThat(redrive.getTargetTopic()).isEqualTo("raw.payments");
      assertThat(redrive.getCorrected()).isTrue();
      assertThat(redrive.getReason()).isEqualTo(RejectReason.REJECT_REASON_MISSING_FIELD);
      String eventId = original.replaceAll(".*\"txn_id\":\"(t\\d+)\".*", "$1");
      Map<String, Object> client = kafka.clientProperties();
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> events(client).stream().anyMatch(e -> e.getEventId().equals(eventId)));
      assertThat(events(client)).hasSize(80 + 1);

      // Once only, and the record of it survives a restart of the log.
      assertThatThrownBy(
              () -> log.redrive(first.partition(), first.offset(), Optional.empty(), "again"))
          .isInstanceOfSatisfying(
              RefusedException.class,
              e -> {
                assertThat(e.kind()).isEqualTo(RefusedException.Kind.CONFLICT);
                assertThat(e).hasMessageContaining("already redriven at");
              });
      try (DeadLetterLog restarted =
          DeadLetterLog.start(kafka.bootstrapServers(), Clock.systemUTC())) {
        await()
            .atMost(Duration.ofSeconds(60))
            .until(() -> restarted.summary().redrives().size() == 1);
        assertThat(restarted.read(first.partition(), first.offset()).redrive()).contains(redrive);
        assertThat(
                restarted
                    .samples("payments", VALIDATOR, RejectReason.REJECT_REASON_MISSING_FIELD)
                    .stream()
                    .filter(l -> l.redrive().isPresent())
                    .count())
            .isEqualTo(1);
      }

      // As it was: still out of range, so it is rejected again and becomes a new letter.
      DeadLetterLog.Letter negative =
          log.samples("payments", VALIDATOR, RejectReason.REJECT_REASON_OUT_OF_RANGE).get(0);
      log.redrive(negative.partition(), negative.offset(), Optional.empty(), "test");
      // Random bytes as a correction: malformed, a new letter too. Count in = out + rejected.
      byte[] noise = new byte[512];
      new Random(3).nextBytes(noise);
      DeadLetterLog.Letter cut =
          log.samples("payments", VALIDATOR, RejectReason.REJECT_REASON_MALFORMED).get(0);
      log.redrive(cut.partition(), cut.offset(), Optional.of(noise), "test");
      await().atMost(Duration.ofSeconds(60)).until(() -> log.summary().read() == 22);
      assertThat(events(client)).hasSize(81);
      assertThat(log.summary().redrives()).hasSize(3);
    }
  }

  @Test
  void aRedriveThatCannotBeRightIsRefusedWithTheReason(@TempDir Path state) throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Validator validator =
            Validator.start(
                ValidatorConfig.defaults(kafka.bootstrapServers(), state),
                FeatureSpec.shippedPayments(),
                Clock.systemUTC());
        DeadLetterLog log = DeadLetterLog.start(kafka.bootstrapServers(), Clock.systemUTC())) {
      // A letter that kept only the first 64 KiB of a larger record, and one of an unknown topic.
      DeadLetter truncated =
          DeadLetter.newBuilder()
              .setSource("payments")
              .setSourceTopic("raw.payments")
              .setReason(RejectReason.REJECT_REASON_TOO_LARGE)
              .setStage(VALIDATOR)
              .setOriginalValue(ByteString.copyFrom(new byte[64 * 1024]))
              .setOriginalValueSize(2_000_000)
              .setOriginalTruncated(true)
              .build();
      DeadLetter nowhere =
          truncated.toBuilder()
              .setSource("Not A Source!")
              .setSourceTopic("")
              .setOriginalTruncated(false)
              .build();
      DeadLetter gone = truncated.toBuilder().setSourceTopic("raw.refunds").build();
      produceBytes(
          kafka,
          TopicNames.DLQ,
          List.of(truncated.toByteArray(), nowhere.toByteArray(), gone.toByteArray()));
      await().atMost(Duration.ofSeconds(60)).until(() -> log.summary().read() == 3);
      List<DeadLetterLog.Letter> letters =
          log.samples("payments", VALIDATOR, RejectReason.REJECT_REASON_TOO_LARGE);
      DeadLetterLog.Letter kept = letters.get(1); // newest first: truncated was written first
      assertThat(kept.letter()).isEqualTo(truncated);

      assertRefused(
          () -> log.redrive(kept.partition(), kept.offset(), Optional.empty(), "t"),
          RefusedException.Kind.CONFLICT,
          "only the first 65536 bytes of the original were kept");
      assertRefused(
          () ->
              log.redrive(
                  kept.partition(),
                  kept.offset(),
                  Optional.of(new byte[DeadLetterLog.MAX_VALUE_BYTES + 1]),
                  "t"),
          RefusedException.Kind.INVALID,
          "at most 1000000 are sent");
      DeadLetterLog.Letter other =
          log.samples("Not A Source!", VALIDATOR, RejectReason.REJECT_REASON_TOO_LARGE).get(0);
      assertRefused(
          () -> log.redrive(other.partition(), other.offset(), Optional.of(new byte[1]), "t"),
          RefusedException.Kind.INVALID,
          "names no raw topic");
      DeadLetterLog.Letter refunds = letters.get(0);
      assertRefused(
          () -> log.redrive(refunds.partition(), refunds.offset(), Optional.of(new byte[1]), "t"),
          RefusedException.Kind.CONFLICT,
          "raw.refunds does not exist");
      assertRefused(
          () -> log.read(kept.partition(), Long.MAX_VALUE), RefusedException.Kind.NOT_FOUND, "no");
      assertRefused(() -> log.read(999, 0), RefusedException.Kind.NOT_FOUND, "no dead letter");
      assertRefused(() -> log.read(-1, 0), RefusedException.Kind.INVALID, "must not be negative");
      // A correction at the size limit goes through, and is rejected downstream as too large.
      Redrive big =
          log.redrive(
              kept.partition(),
              kept.offset(),
              Optional.of(new byte[DeadLetterLog.MAX_VALUE_BYTES]),
              "t");
      assertThat(big.getTargetTopic()).isEqualTo("raw.payments");
      await().atMost(Duration.ofSeconds(60)).until(() -> log.summary().read() == 4);
    }
  }

  @Test
  void aLogStartedBeforeThereIsADeadLetterTopicReadsItOnceThereIs() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        DeadLetterLog log = DeadLetterLog.start(kafka.bootstrapServers(), Clock.systemUTC())) {
      DeadLetter letter =
          DeadLetter.newBuilder()
              .setSource("payments")
              .setSourceTopic("raw.payments")
              .setReason(RejectReason.REJECT_REASON_MALFORMED)
              .setStage(VALIDATOR)
              .build();
      produceBytes(kafka, TopicNames.DLQ, List.of(letter.toByteArray()));
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> log.summary().read() == 1 && log.summary().caughtUp());
    }
  }

  private static void assertRefused(
      org.assertj.core.api.ThrowableAssert.ThrowingCallable call,
      RefusedException.Kind kind,
      String message) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(RefusedException.class, e -> assertThat(e.kind()).isEqualTo(kind))
        .hasMessageContaining(message);
  }

  private static List<Event> events(Map<String, Object> client) throws Exception {
    List<Event> events = new ArrayList<>();
    TopicReader.readAll(
        client,
        TopicNames.events("payments"),
        Duration.ofSeconds(30),
        r -> {
          try {
            events.add(Event.parseFrom(r.value()));
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
          }
        });
    return events;
  }

  private static void produce(EmbeddedKafka kafka, String topic, List<String> lines)
      throws Exception {
    produceBytes(
        kafka, topic, lines.stream().map(l -> l.getBytes(StandardCharsets.UTF_8)).toList());
  }

  private static void produceBytes(EmbeddedKafka kafka, String topic, List<byte[]> values)
      throws Exception {
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 2_000_000);
    try (var producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (byte[] v : values) {
        producer.send(new ProducerRecord<>(topic, v)).get();
      }
    }
  }
}
