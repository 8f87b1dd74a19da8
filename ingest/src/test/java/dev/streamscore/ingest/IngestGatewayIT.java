package dev.streamscore.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.ingest.generator.GeneratedEvent;
import dev.streamscore.ingest.generator.GeneratorConfig;
import dev.streamscore.ingest.generator.PaymentsGenerator;
import dev.streamscore.kafka.TopicReader;
import dev.streamscore.kafka.Topics;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.IngestGrpc;
import dev.streamscore.proto.v1.PublishAck;
import dev.streamscore.proto.v1.PublishBatchRequest;
import dev.streamscore.proto.v1.PublishBatchResponse;
import dev.streamscore.proto.v1.PublishRequest;
import dev.streamscore.proto.v1.RejectReason;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class IngestGatewayIT {
  private static final int PARTITIONS = 4;
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-11-24T12:00:00Z"), ZoneOffset.UTC);
  private static EmbeddedKafka kafka;

  @BeforeAll
  static void startKafka() {
    kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
  }

  @AfterAll
  static void stopKafka() {
    kafka.close();
  }

  /** A gateway writing to fresh topics {@code raw.payments} … of its own DLQ. */
  private static IngestGateway gateway(String dlq, int window, int windowBytes) {
    try (Admin admin = Admin.create(kafka.clientProperties())) {
      Topics.using(admin)
          .ensure(
              List.of(
                  new NewTopic("raw.payments", PARTITIONS, (short) -1),
                  new NewTopic(dlq, PARTITIONS, (short) -1)),
              Duration.ofSeconds(30));
    }
    IngestGatewayConfig config =
        IngestGatewayConfig.defaults(kafka.bootstrapServers())
            .withPort(0)
            .withDlqTopic(dlq)
            .withStreamWindow(window, windowBytes);
    return IngestGateway.start(config, FeatureSpec.shippedPayments(), CLOCK);
  }

  private static long endOffsetSum(String topic) {
    AtomicLong n = new AtomicLong();
    TopicReader.readAll(
        kafka.clientProperties(), topic, Duration.ofSeconds(60), r -> n.incrementAndGet());
    return n.get();
  }

  @Test
  void everyAckOfAMillionEventsIsExactlyOneRecordInKafka() throws Exception {
    int total = 1_000_000;
    // Other tests may have written to raw.payments already.
    long[] before = new long[PARTITIONS];
    TopicReader.readAll(
        kafka.clientProperties(),
        "raw.payments",
        Duration.ofSeconds(60),
        r -> before[r.partition()] = r.offset() + 1);
    PaymentsGenerator generator =
        new PaymentsGenerator(
            GeneratorConfig.defaults(11).withRates(0.02, 0.01, 0.02),
            InstantSource.fixed(CLOCK.instant()));
    // Per sequence: the payload's hash and the reason the gateway must give (0 = accepted).
    long[] payloadHash = new long[total];
    byte[] expected = new byte[total];
    int[][] sequenceAt = new int[PARTITIONS][];
    for (int p = 0; p < PARTITIONS; p++) {
      sequenceAt[p] = new int[total];
      Arrays.fill(sequenceAt[p], -1);
    }
    AtomicReference<String> mismatch = new AtomicReference<>();
    int[] rejectedByReason = new int[RejectReason.values().length];
    String dlq = "dlq.million";
    try (IngestGateway gateway = gateway(dlq, 2_048, 4 << 20);
        IngestPublisher publisher = IngestPublisher.connect(gateway.address())) {
      IngestPublisher.Stream stream =
          publisher.openStream(
              4_096,
              ack -> {
                int seq = (int) ack.getSequence();
                if (ack.hasAccepted()) {
                  int p = ack.getAccepted().getPartition();
                  int offset = (int) ack.getAccepted().getOffset();
                  if (expected[seq] != 0) {
                    mismatch.compareAndSet(null, "accepted an invalid event, sequence " + seq);
                  }
                  synchronized (sequenceAt) {
                    if (offset >= total || sequenceAt[p][offset] != -1) {
                      mismatch.compareAndSet(null, "offset acked twice or out of range: " + ack);
                    } else {
                      sequenceAt[p][offset] = seq;
                    }
                  }
                } else {
                  synchronized (rejectedByReason) {
                    rejectedByReason[ack.getRejected().getReasonValue()]++;
                  }
                  if (expected[seq] != ack.getRejected().getReasonValue()) {
                    mismatch.compareAndSet(null, "wrong reason for sequence " + seq + ": " + ack);
                  }
                }
              });
      for (int i = 0; i < total; i++) {
        GeneratedEvent event = generator.next();
        payloadHash[i] = Arrays.hashCode(event.json());
        expected[i] = (byte) event.expectedReject().getNumber();
        stream.send("payments", event.json());
      }
      stream.finish(Duration.ofMinutes(2));
      assertThat(mismatch.get()).isNull();
      assertThat(stream.accepted() + stream.rejected()).isEqualTo(total);

      long[] seen = new long[1];
      AtomicReference<String> recordProblem = new AtomicReference<>();
      TopicReader.readAll(
          kafka.clientProperties(),
          "raw.payments",
          Duration.ofMinutes(2),
          record -> {
            if (record.offset() < before[record.partition()]) {
              return;
            }
            seen[0]++;
            int seq = sequenceAt[record.partition()][(int) record.offset()];
            if (seq < 0) {
              recordProblem.compareAndSet(
                  null, "record without an ack at " + record.partition() + "/" + record.offset());
            } else if (Arrays.hashCode(record.value()) != payloadHash[seq]) {
              recordProblem.compareAndSet(
                  null, "record at " + record.offset() + " is not event " + seq);
            }
          });
      assertThat(recordProblem.get()).isNull();
      assertThat(seen[0]).isEqualTo(stream.accepted());

      int expectedRejected = 0;
      for (byte b : expected) {
        expectedRejected += b == 0 ? 0 : 1;
      }
      assertThat(stream.rejected()).isEqualTo(expectedRejected);
      assertThat(endOffsetSum(dlq)).isEqualTo(expectedRejected);
      IngestCounters counters = gateway.counters();
      assertThat(counters.get("payments.received"))
          .isEqualTo(counters.get("payments.valid") + counters.get("payments.rejected"))
          .isEqualTo(total);
      assertThat(gateway.inFlightEvents()).isZero();
    }
  }

  @Test
  void aClientThatStopsReadingAcksStallsTheStreamAtTheWindow() throws Exception {
    int window = 256;
    int total = 200_000;
    try (IngestGateway gateway = gateway("dlq.stall", window, 1 << 20)) {
      ManagedChannel ch = NettyChannelBuilder.forTarget(gateway.address()).usePlaintext().build();
      try {
        AtomicReference<ClientCallStreamObserver<PublishRequest>> call = new AtomicReference<>();
        AtomicLong acks = new AtomicLong();
        CountDownLatch completed = new CountDownLatch(1);
        Object ready = new Object();
        IngestGrpc.newStub(ch)
            .publish(
                new ClientResponseObserver<PublishRequest, PublishAck>() {
                  @Override
                  public void beforeStart(ClientCallStreamObserver<PublishRequest> stream) {
                    // The client reads no ack until told to.
                    stream.disableAutoRequestWithInitial(0);
                    stream.setOnReadyHandler(
                        () -> {
                          synchronized (ready) {
                            ready.notifyAll();
                          }
                        });
                    call.set(stream);
                  }

                  @Override
                  public void onNext(PublishAck ack) {
                    acks.incrementAndGet();
                  }

                  @Override
                  public void onError(Throwable t) {
                    completed.countDown();
                  }

                  @Override
                  public void onCompleted() {
                    completed.countDown();
                  }
                });
        PaymentsGenerator generator =
            new PaymentsGenerator(
                GeneratorConfig.defaults(3).withRates(0, 0, 0),
                InstantSource.fixed(CLOCK.instant()));
        // A well-behaved sender: writes while the transport is ready, waits otherwise.
        AtomicLong sent = new AtomicLong();
        Thread sender =
            new Thread(
                () -> {
                  ClientCallStreamObserver<PublishRequest> stream = call.get();
                  try {
                    for (int i = 0; i < total; i++) {
                      synchronized (ready) {
                        while (!stream.isReady()) {
                          ready.wait(100);
                        }
                      }
                      stream.onNext(
                          PublishRequest.newBuilder()
                              .setSequence(i)
                              .setSource("payments")
                              .setPayload(ByteString.copyFrom(generator.valid().json()))
                              .build());
                      sent.incrementAndGet();
                    }
                    stream.onCompleted();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                });
        sender.setDaemon(true);
        sender.start();

        // Stalled, and done validating what it read (validation runs on the gateway's pool, so the
        // valid count catches up with the received count a moment after the stall).
        await()
            .atMost(Duration.ofSeconds(60))
            .until(
                () ->
                    gateway.stalledStreams() == 1
                        && gateway.inFlightEvents() == window
                        && gateway.counters().get("payments.valid")
                            == gateway.counters().get("payments.received"));
        long readByGateway = gateway.counters().get("payments.received");
        long sentByClient = sent.get();
        assertThat(readByGateway).isLessThan(total);
        // What the gateway read is what it acked plus exactly one window held for the client.
        assertThat(gateway.counters().get("payments.valid")).isEqualTo(readByGateway);
        assertThat(sentByClient).isLessThan(total);
        // It stays stalled: nothing more is read while the client reads nothing.
        await()
            .during(Duration.ofSeconds(2))
            .atMost(Duration.ofSeconds(5))
            .until(() -> gateway.counters().get("payments.received") == readByGateway);

        call.get().request(Integer.MAX_VALUE);
        assertThat(completed.await(2, TimeUnit.MINUTES)).isTrue();
        assertThat(acks.get()).isEqualTo(total);
        assertThat(gateway.counters().get("payments.received")).isEqualTo(total);
        assertThat(gateway.stalledStreams()).isZero();
        assertThat(gateway.inFlightEvents()).isZero();
      } finally {
        ch.shutdownNow();
      }
    }
  }

  @Test
  void rejectsBadEventsWithTheirReasonAndWritesThemToTheDeadLetterTopic() throws Exception {
    String dlq = "dlq.reasons";
    try (IngestGateway gateway = gateway(dlq, 64, 1 << 20);
        IngestPublisher publisher = IngestPublisher.connect(gateway.address())) {
      PaymentsGenerator generator =
          new PaymentsGenerator(GeneratorConfig.defaults(5), InstantSource.fixed(CLOCK.instant()));
      byte[] huge = new byte[1_500_000];
      Arrays.fill(huge, (byte) ' ');
      huge[0] = '{';
      huge[huge.length - 1] = '}';
      List<PublishRequest> events =
          List.of(
              request(0, "payments", generator.valid().json()),
              request(
                  1, "payments", generator.invalid(RejectReason.REJECT_REASON_OUT_OF_RANGE).json()),
              request(2, "refunds", generator.valid().json()),
              request(3, "payments", huge),
              request(4, "payments", "{\"user_id\":".getBytes(StandardCharsets.UTF_8)));
      PublishBatchResponse response =
          publisher.publishBatch(
              PublishBatchRequest.newBuilder().addAllEvents(events).build(),
              Duration.ofSeconds(30));

      assertThat(response.getAcceptedCount()).isEqualTo(1);
      assertThat(response.getRejectedCount()).isEqualTo(4);
      assertThat(response.getAcksList())
          .extracting(PublishAck::getSequence)
          .containsExactly(0L, 1L, 2L, 3L, 4L);
      assertThat(response.getAcks(0).getAccepted().getTopic()).isEqualTo("raw.payments");
      assertThat(response.getAcksList().subList(1, 5))
          .extracting(a -> a.getRejected().getReason())
          .containsExactly(
              RejectReason.REJECT_REASON_OUT_OF_RANGE,
              RejectReason.REJECT_REASON_UNKNOWN_SOURCE,
              RejectReason.REJECT_REASON_TOO_LARGE,
              RejectReason.REJECT_REASON_MALFORMED);
      assertThat(response.getAcks(2).getRejected().getMessage())
          .isEqualTo("source 'refunds' is not declared; declared sources: [payments]");

      Map<RejectReason, DeadLetter> letters = new HashMap<>();
      TopicReader.readAll(
          kafka.clientProperties(),
          dlq,
          Duration.ofSeconds(30),
          r -> {
            try {
              DeadLetter letter = DeadLetter.parseFrom(r.value());
              letters.put(letter.getReason(), letter);
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
              throw new AssertionError(e);
            }
          });
      assertThat(letters).hasSize(4);
      assertThat(letters.values())
          .allSatisfy(
              l -> {
                assertThat(l.getStage()).isEqualTo("gateway");
                assertThat(l.getSourcePartition()).isEqualTo(-1);
              });
      assertThat(letters.get(RejectReason.REJECT_REASON_OUT_OF_RANGE).getOriginalValue())
          .isEqualTo(events.get(1).getPayload());
      assertThat(letters.get(RejectReason.REJECT_REASON_TOO_LARGE).getOriginalValue().size())
          .isEqualTo(64 * 1024);
    }
  }

  @Test
  void refusesOversizedBatchesAndMessagesAndSequencesThatGoBackwards() throws Exception {
    try (IngestGateway gateway = gateway("dlq.limits", 64, 1 << 20);
        IngestPublisher publisher = IngestPublisher.connect(gateway.address())) {
      PublishBatchRequest.Builder tooMany = PublishBatchRequest.newBuilder();
      for (int i = 0; i <= 10_000; i++) {
        tooMany.addEvents(request(i, "payments", "{}".getBytes(StandardCharsets.UTF_8)));
      }
      assertThatThrownBy(() -> publisher.publishBatch(tooMany.build(), Duration.ofSeconds(30)))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                assertThat(e.getStatus().getDescription())
                    .isEqualTo("field 'events' holds 10001 events; the limit is 10000 per batch");
              });

      PublishBatchRequest tooBig =
          PublishBatchRequest.newBuilder()
              .addEvents(request(0, "payments", new byte[5 << 20]))
              .build();
      assertThatThrownBy(() -> publisher.publishBatch(tooBig, Duration.ofSeconds(30)))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));

      List<PublishAck> acks = new ArrayList<>();
      IngestPublisher.Stream stream = publisher.openStream(16, acks::add);
      byte[] valid =
          new PaymentsGenerator(GeneratorConfig.defaults(9), InstantSource.fixed(CLOCK.instant()))
              .valid()
              .json();
      stream.send("payments", valid);
      stream.send("payments", valid);
      // Sequences 0 and 1 were used; a raw client sends 1 again.
      assertThat(stream.sent()).isEqualTo(2);
      stream.finish(Duration.ofSeconds(30));
      assertThat(stream.accepted()).isEqualTo(2);

      AtomicReference<Throwable> error = new AtomicReference<>();
      CountDownLatch done = new CountDownLatch(1);
      ManagedChannel ch = NettyChannelBuilder.forTarget(gateway.address()).usePlaintext().build();
      try {
        var requests =
            IngestGrpc.newStub(ch)
                .publish(
                    new io.grpc.stub.StreamObserver<>() {
                      @Override
                      public void onNext(PublishAck value) {}

                      @Override
                      public void onError(Throwable t) {
                        error.set(t);
                        done.countDown();
                      }

                      @Override
                      public void onCompleted() {
                        done.countDown();
                      }
                    });
        requests.onNext(request(5, "payments", valid));
        requests.onNext(request(5, "payments", valid));
        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
        Status status = Status.fromThrowable(error.get());
        assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(status.getDescription())
            .isEqualTo("field 'sequence' must increase along a stream: got 5 after 5");
      } finally {
        ch.shutdownNow();
      }
    }
  }

  private static PublishRequest request(long sequence, String source, byte[] payload) {
    return PublishRequest.newBuilder()
        .setSequence(sequence)
        .setSource(source)
        .setPayload(ByteString.copyFrom(payload))
        .build();
  }
}
