package dev.streamscore.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import dev.streamscore.etl.DeadLetters;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.kafka.TopicReader;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.Messages;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.IngestGrpc;
import dev.streamscore.proto.v1.PublishAck;
import dev.streamscore.proto.v1.PublishBatchRequest;
import dev.streamscore.proto.v1.PublishBatchResponse;
import dev.streamscore.proto.v1.PublishRequest;
import dev.streamscore.proto.v1.RejectReason;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile records on the real broker: each poison record is followed by a valid one, and every raw
 * record must become exactly one event or one dead letter while the validator keeps running; the
 * gateway answers every poison event with a Rejected ack naming the reason.
 */
class PoisonRecordsIT {
  // A broker per test: the gateway's events would otherwise reach the validator's test.
  private EmbeddedKafka kafka;

  @BeforeEach
  void startKafka() {
    kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
  }

  @AfterEach
  void stopKafka() {
    kafka.close();
  }

  /** One hostile input: its key, its value and the reason it must get (null: it is valid). */
  private record Poison(String name, byte[] key, byte[] value, RejectReason reason) {}

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String payment(String txn, String ts, String amount, String merchant) {
    return "{\"user_id\":\"u1\",\"txn_id\":\"%s\",\"ts\":%s,\"amount\":%s,\"merchant_id\":\"%s\"}"
        .formatted(txn, ts, amount, merchant);
  }

  private static List<Poison> poisons(long now) {
    String ts = Long.toString(now);
    RejectReason malformed = RejectReason.REJECT_REASON_MALFORMED;
    RejectReason window = RejectReason.REJECT_REASON_TIME_OUT_OF_WINDOW;
    List<Poison> list = new ArrayList<>();
    String deep = "[".repeat(100_000) + "]".repeat(100_000);
    list.add(
        new Poison(
            "nested 100,000 deep",
            null,
            utf8(payment("p1", ts, "1", "m").replace("}", ",\"x\":" + deep + "}")),
            malformed));
    list.add(
        new Poison(
            "amount of 5,000 digits",
            null,
            utf8(payment("p2", ts, "9".repeat(5_000), "m")),
            malformed));
    list.add(new Poison("year 2100", null, utf8(payment("p3", "4102444800000", "1", "m")), window));
    list.add(
        new Poison(
            "Long.MAX time",
            null,
            utf8(payment("p4", Long.toString(Long.MAX_VALUE), "1", "m")),
            window));
    list.add(
        new Poison(
            "ISO year +10000",
            null,
            utf8(payment("p5", "\"+10000-01-01T00:00:00Z\"", "1", "m")),
            window));
    list.add(new Poison("time -1", null, utf8(payment("p6", "-1", "1", "m")), window));
    list.add(
        new Poison(
            "ISO 1900", null, utf8(payment("p7", "\"1900-01-01T00:00:00Z\"", "1", "m")), window));
    list.add(
        new Poison(
            "Long.MIN time",
            null,
            utf8(payment("p8", Long.toString(Long.MIN_VALUE), "1", "m")),
            window));
    byte[] bigMalformed = new byte[1_048_400];
    java.util.Arrays.fill(bigMalformed, (byte) '{');
    list.add(new Poison("malformed 1,048,400 bytes", null, bigMalformed, malformed));
    list.add(
        new Poison(
            "event past the record limit",
            null,
            utf8(payment("p9", ts, "1", "m".repeat(999_990))),
            RejectReason.REJECT_REASON_TOO_LARGE));
    list.add(
        new Poison(
            "event just under the record limit",
            null,
            utf8(payment("p10", ts, "1", "m".repeat(990_000))),
            null));
    list.add(
        new Poison(
            "600 KB key and 440 KB malformed value",
            new byte[600_000],
            new byte[440_000],
            malformed));
    list.add(
        new Poison(
            "invalid UTF-8",
            null,
            new byte[] {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'},
            malformed));
    list.add(new Poison("empty value", null, new byte[0], malformed));
    list.add(new Poison("tombstone", utf8("u1"), null, malformed));
    list.add(
        new Poison(
            "unpaired surrogate",
            null,
            utf8(payment("p11", ts, "1", "\\udc00")),
            RejectReason.REJECT_REASON_WRONG_TYPE));
    list.add(
        new Poison(
            "amount 1e308",
            null,
            utf8(payment("p12", ts, "1e308", "m")),
            RejectReason.REJECT_REASON_OUT_OF_RANGE));
    list.add(
        new Poison(
            "entity id of 400,000 characters",
            null,
            utf8(payment("p15", ts, "1", "m").replace("\"u1\"", "\"" + "u".repeat(400_000) + "\"")),
            RejectReason.REJECT_REASON_TOO_LARGE));
    list.add(new Poison("amount 4.9e-324", null, utf8(payment("p13", ts, "4.9e-324", "m")), null));
    list.add(
        new Poison(
            "amount true",
            null,
            utf8(payment("p14", ts, "true", "m")),
            RejectReason.REJECT_REASON_WRONG_TYPE));
    Random random = new Random(16);
    for (int i = 0; i < 20; i++) {
      byte[] noise = new byte[1 + random.nextInt(2_000)];
      random.nextBytes(noise);
      noise[0] = (byte) '{';
      list.add(new Poison("random bytes " + i, null, noise, malformed));
    }
    return list;
  }

  @Test
  void noRecordStopsTheValidatorAndEveryRecordHasExactlyOneOutcome(@TempDir Path state)
      throws Exception {
    long now = System.currentTimeMillis();
    List<Poison> poisons = poisons(now);
    try (Validator validator =
        Validator.start(
            ValidatorConfig.defaults(kafka.bootstrapServers(), state),
            FeatureSpec.shippedPayments(),
            Clock.systemUTC())) {
      Map<String, Object> props = new HashMap<>(kafka.clientProperties());
      props.put(ProducerConfig.ACKS_CONFIG, "all");
      props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 1_048_576);
      List<Future<RecordMetadata>> acks = new ArrayList<>();
      Map<Long, Poison> byOffset = new HashMap<>();
      Map<String, RejectReason> expected = new LinkedHashMap<>();
      try (var producer =
          new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
        int n = 0;
        List<Future<RecordMetadata>> poisonAcks = new ArrayList<>();
        for (Poison p : poisons) {
          // One partition, so each valid follower is read after its poison record.
          Future<RecordMetadata> ack =
              producer.send(new ProducerRecord<>("raw.payments", 0, p.key(), p.value()));
          acks.add(ack);
          poisonAcks.add(ack);
          String follower = "after-" + n++;
          acks.add(
              producer.send(
                  new ProducerRecord<>(
                      "raw.payments",
                      0,
                      null,
                      utf8(payment(follower, Long.toString(now), "2", "m")))));
          expected.put(follower, null);
        }
        for (Future<RecordMetadata> ack : acks) {
          ack.get();
        }
        for (int i = 0; i < poisons.size(); i++) {
          byOffset.put(poisonAcks.get(i).get().offset(), poisons.get(i));
        }
      }
      int total = acks.size();
      await()
          .atMost(Duration.ofSeconds(90))
          .until(() -> validator.counters().get("payments.received") == total);

      Map<String, Integer> validTxns = new HashMap<>();
      List<DeadLetter> letters = new ArrayList<>();
      long[] counts = new long[2];
      // The last transaction commits shortly after the last record is processed.
      await()
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(
              () -> {
                validTxns.clear();
                letters.clear();
                counts[0] =
                    TopicReader.readAll(
                        kafka.clientProperties(),
                        "events.payments",
                        Duration.ofSeconds(60),
                        r -> validTxns.merge(eventId(r.value()), 1, Integer::sum));
                counts[1] =
                    TopicReader.readAll(
                        kafka.clientProperties(),
                        "events.dlq",
                        Duration.ofSeconds(60),
                        r -> letters.add(letter(r.value())));
                assertThat(counts[0] + counts[1]).isEqualTo(total);
              });
      long events = counts[0];

      assertThat(validator.running()).isTrue();
      for (String follower : expected.keySet()) {
        assertThat(validTxns).as(follower).containsEntry(follower, 1);
      }
      long expectedValid = poisons.stream().filter(p -> p.reason() == null).count();
      assertThat(events)
          .as(validTxns.keySet().toString())
          .isEqualTo(poisons.size() + expectedValid);
      List<Poison> rejected = poisons.stream().filter(p -> p.reason() != null).toList();
      assertThat(letters).hasSize(rejected.size());
      for (DeadLetter letter : letters) {
        Poison p = byOffset.get(letter.getSourceOffset());
        assertThat(p).as("a dead letter for offset " + letter.getSourceOffset()).isNotNull();
        assertThat(letter.getReason())
            .as(p.name() + ": " + letter.getMessage())
            .isEqualTo(p.reason());
        assertThat(letter.getMessage()).as(p.name()).isNotBlank();
        assertThat(letter.getSerializedSize())
            .as(p.name())
            .isLessThan(DeadLetters.MAX_ORIGINAL_BYTES + 10_000);
        long size = p.value() == null ? 0 : p.value().length;
        assertThat(letter.getOriginalValueSize()).as(p.name()).isEqualTo(size);
        long keySize = p.key() == null ? 0 : p.key().length;
        boolean cut = keySize + size > DeadLetters.MAX_ORIGINAL_BYTES;
        assertThat(letter.getOriginalTruncated()).as(p.name()).isEqualTo(cut);
        if (!cut) {
          assertThat(letter.getOriginalValue())
              .as(p.name())
              .isEqualTo(p.value() == null ? ByteString.EMPTY : ByteString.copyFrom(p.value()));
        }
      }
      assertThat(validator.counters().get("payments.valid")).isEqualTo(events);
    }
  }

  private void onePartitionTopics(String... names) {
    try (var admin = org.apache.kafka.clients.admin.Admin.create(kafka.clientProperties())) {
      dev.streamscore.kafka.Topics.using(admin)
          .ensure(
              java.util.Arrays.stream(names)
                  .map(n -> new org.apache.kafka.clients.admin.NewTopic(n, 1, (short) -1))
                  .toList(),
              Duration.ofSeconds(30));
    }
  }

  private static String eventId(byte[] value) {
    try {
      return Event.parseFrom(value).getEventId();
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }

  private static DeadLetter letter(byte[] bytes) {
    return Messages.parse(DeadLetter.parser(), bytes);
  }

  @Test
  void aPublishStreamThatFailsFirstAcksEveryEventItWrote() throws Exception {
    IngestGatewayConfig config =
        IngestGatewayConfig.defaults(kafka.bootstrapServers()).withPort(0).withDlqTopic("g.dlq");
    onePartitionTopics("raw.payments", "g.dlq");
    long now = System.currentTimeMillis();
    try (IngestGateway gateway =
        IngestGateway.start(config, FeatureSpec.shippedPayments(), Clock.systemUTC())) {
      ManagedChannel channel =
          NettyChannelBuilder.forTarget(gateway.address()).usePlaintext().build();
      try {
        List<PublishAck> acks = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.CompletableFuture<Throwable> ended =
            new java.util.concurrent.CompletableFuture<>();
        var requests =
            IngestGrpc.newStub(channel)
                .publish(
                    new io.grpc.stub.StreamObserver<>() {
                      @Override
                      public void onNext(PublishAck ack) {
                        acks.add(ack);
                      }

                      @Override
                      public void onError(Throwable t) {
                        ended.complete(t);
                      }

                      @Override
                      public void onCompleted() {
                        ended.complete(null);
                      }
                    });
        for (long sequence : new long[] {1, 2, 2, 3}) {
          requests.onNext(
              PublishRequest.newBuilder()
                  .setSequence(sequence)
                  .setSource("payments")
                  .setPayload(
                      ByteString.copyFrom(
                          utf8(payment("s" + sequence, Long.toString(now), "1", "m"))))
                  .build());
        }
        Throwable error = ended.get(30, java.util.concurrent.TimeUnit.SECONDS);

        assertThat(io.grpc.Status.fromThrowable(error).getCode())
            .isEqualTo(io.grpc.Status.Code.INVALID_ARGUMENT);
        assertThat(acks.stream().map(PublishAck::getSequence)).containsExactlyInAnyOrder(1L, 2L);
        assertThat(acks).allMatch(PublishAck::hasAccepted);
        List<String> written = new ArrayList<>();
        TopicReader.readAll(
            kafka.clientProperties(),
            "raw.payments",
            Duration.ofSeconds(30),
            r -> written.add(new String(r.value(), StandardCharsets.UTF_8)));
        assertThat(written).hasSize(2);
      } finally {
        channel.shutdownNow();
      }
    }
  }

  @Test
  void theGatewayAnswersEveryPoisonEventWithAnAckNamingTheReason() throws Exception {
    long now = System.currentTimeMillis();
    List<Poison> poisons =
        poisons(now).stream().filter(p -> p.value() != null && p.key() == null).toList();
    IngestGatewayConfig config =
        IngestGatewayConfig.defaults(kafka.bootstrapServers())
            .withPort(0)
            .withDlqTopic("gateway.dlq");
    onePartitionTopics("raw.payments", "gateway.dlq");
    try (IngestGateway gateway =
        IngestGateway.start(config, FeatureSpec.shippedPayments(), Clock.systemUTC())) {
      ManagedChannel channel =
          NettyChannelBuilder.forTarget(gateway.address())
              .usePlaintext()
              .maxInboundMessageSize(16 << 20)
              .build();
      try {
        var stub = IngestGrpc.newBlockingStub(channel);
        long sequence = 0;
        for (Poison p : poisons) {
          PublishBatchResponse response =
              stub.publishBatch(
                  PublishBatchRequest.newBuilder()
                      .addEvents(
                          PublishRequest.newBuilder()
                              .setSequence(sequence++)
                              .setSource("payments")
                              .setPayload(ByteString.copyFrom(p.value())))
                      .build());
          PublishAck ack = response.getAcks(0);
          if (p.reason() == null) {
            assertThat(ack.hasAccepted()).as(p.name() + ": " + ack).isTrue();
          } else {
            RejectReason reason =
                p.value().length > config.maxEventBytes()
                    ? RejectReason.REJECT_REASON_TOO_LARGE
                    : p.reason();
            assertThat(ack.getRejected().getReason()).as(p.name()).isEqualTo(reason);
            assertThat(ack.getRejected().getMessage()).as(p.name()).isNotBlank();
          }
        }
        PublishAck unknownSource =
            stub.publishBatch(
                    PublishBatchRequest.newBuilder()
                        .addEvents(
                            PublishRequest.newBuilder()
                                .setSequence(sequence)
                                .setSource("s".repeat(100_000))
                                .setPayload(ByteString.copyFrom(utf8("{}"))))
                        .build())
                .getAcks(0);
        assertThat(unknownSource.getRejected().getReason())
            .isEqualTo(RejectReason.REJECT_REASON_UNKNOWN_SOURCE);
        assertThat(unknownSource.getRejected().getMessage()).hasSizeLessThan(300);
      } finally {
        channel.shutdownNow();
      }
    }
  }
}
