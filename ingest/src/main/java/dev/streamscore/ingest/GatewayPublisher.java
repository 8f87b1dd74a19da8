package dev.streamscore.ingest;

import dev.streamscore.etl.DeadLetters;
import dev.streamscore.etl.EventValidator;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.etl.SourceSpec;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.etl.Validation;
import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.proto.v1.Accepted;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.PublishAck;
import dev.streamscore.proto.v1.PublishRequest;
import dev.streamscore.proto.v1.RejectReason;
import dev.streamscore.proto.v1.Rejected;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Publishes one gateway event: validates it with the source's {@link EventValidator}, then writes
 * it to {@code raw.<source>} (keyed by its entity id) or, when invalid, a {@code DeadLetter} to the
 * dead-letter topic. The outcome is reported only once Kafka has acknowledged the write (acks=all,
 * idempotent producer). Thread-safe.
 */
final class GatewayPublisher implements AutoCloseable {
  static final String STAGE = "gateway";

  /** Counter name for events that claim a source the spec does not declare. */
  static final String UNDECLARED = "_undeclared";

  /** Receives one event's outcome, on a Kafka producer thread. Must not block. */
  interface Outcome {
    void acked(PublishAck ack, int payloadBytes);

    void failed(Status status, int payloadBytes);
  }

  private final KafkaProducer<byte[], byte[]> producer;
  private final Map<String, EventValidator> validators = new HashMap<>();
  private final IngestCounters counters;
  private final Clock clock;
  private final String dlqTopic;
  private final Duration deliveryTimeout;

  GatewayPublisher(
      IngestGatewayConfig config, FeatureSpec spec, IngestCounters counters, Clock clock) {
    for (SourceSpec source : spec.sources().values()) {
      validators.put(source.name(), new EventValidator(source, clock, config.maxEventBytes()));
    }
    this.counters = counters;
    this.clock = clock;
    this.dlqTopic = config.dlqTopic();
    this.deliveryTimeout = config.deliveryTimeout();
    this.producer =
        new KafkaProducer<>(
            producerProperties(config), new ByteArraySerializer(), new ByteArraySerializer());
  }

  static Map<String, Object> producerProperties(IngestGatewayConfig config) {
    Map<String, Object> p = new HashMap<>();
    p.putAll(KafkaClients.config(config.bootstrapServers()));
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "streamscore-ingest-gateway");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 64L << 20);
    // A full buffer blocks the gRPC thread that sends: that is back-pressure on its stream.
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, config.deliveryTimeout().toMillis());
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) config.deliveryTimeout().toMillis());
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) config.deliveryTimeout().toMillis() / 2);
    return p;
  }

  /**
   * Publishes one event. The outcome arrives later, on a Kafka thread; a failure of Kafka is
   * reported as UNAVAILABLE (the client must resend: the event may or may not be in Kafka).
   */
  void publish(PublishRequest request, Outcome outcome) {
    byte[] payload = request.getPayload().toByteArray();
    String source = request.getSource();
    EventValidator validator = validators.get(source);
    String counted = validator == null ? UNDECLARED : source;
    counters.received(counted);
    Validation.Invalid problem;
    byte[] key = null;
    if (validator == null) {
      problem =
          new Validation.Invalid(
              RejectReason.REJECT_REASON_UNKNOWN_SOURCE,
              "source",
              source.isEmpty()
                  ? "field 'source' is empty; declared sources: " + validators.keySet()
                  : "source '"
                      + abbreviate(source)
                      + "' is not declared; declared sources: "
                      + validators.keySet());
    } else {
      EventValidator.Check check;
      try {
        check = validator.check(payload);
      } catch (RuntimeException e) {
        // A defect of ours, not the event's: it is rejected with the reason, never UNKNOWN.
        check =
            new EventValidator.Check(
                null,
                new Validation.Invalid(
                    RejectReason.REJECT_REASON_INTERNAL, "", DeadLetters.internal(STAGE, e)));
      }
      if (check.valid()) {
        key = check.entityId().getBytes(StandardCharsets.UTF_8);
        send(
            new ProducerRecord<>(validator.source().rawTopic(), key, payload),
            counted,
            payload.length,
            outcome,
            meta -> {
              counters.valid(counted);
              return PublishAck.newBuilder()
                  .setSequence(request.getSequence())
                  .setAccepted(
                      Accepted.newBuilder()
                          .setTopic(meta.topic())
                          .setPartition(meta.partition())
                          .setOffset(meta.offset()))
                  .build();
            });
        return;
      }
      problem = check.problem();
    }
    Validation.Invalid invalid = problem;
    DeadLetter letter = deadLetter(source, validator, payload, invalid);
    send(
        new ProducerRecord<>(dlqTopic, null, letter.toByteArray()),
        counted,
        payload.length,
        outcome,
        meta -> {
          counters.rejected(counted, invalid.reason());
          return PublishAck.newBuilder()
              .setSequence(request.getSequence())
              .setRejected(
                  Rejected.newBuilder()
                      .setReason(invalid.reason())
                      .setMessage(invalid.message())
                      .setField(invalid.field()))
              .build();
        });
  }

  private DeadLetter deadLetter(
      String source, EventValidator validator, byte[] payload, Validation.Invalid invalid) {
    String claimed = abbreviate(source);
    long now = clock.millis();
    return DeadLetters.of(
        new DeadLetters.Original(
            claimed,
            new RecordOrigin(
                validator == null ? TopicNames.raw(claimed) : validator.source().rawTopic(),
                -1,
                -1),
            now,
            null,
            payload),
        invalid.reason(),
        invalid.field(),
        invalid.message(),
        STAGE,
        now);
  }

  /** A client-chosen name, cut so that no message or letter grows with it. */
  static String abbreviate(String name) {
    return name.length() <= 100 ? name : name.substring(0, 97) + "...";
  }

  private interface AckFor {
    PublishAck of(RecordMetadata meta);
  }

  private void send(
      ProducerRecord<byte[], byte[]> record,
      String source,
      int payloadBytes,
      Outcome outcome,
      AckFor ack) {
    try {
      producer.send(
          record,
          (meta, error) -> {
            if (error == null) {
              outcome.acked(ack.of(meta), payloadBytes);
            } else {
              counters.failed(source);
              outcome.failed(unavailable(error), payloadBytes);
            }
          });
    } catch (RuntimeException e) {
      // Metadata or buffer space not available within max.block.ms, or the producer is closed.
      counters.failed(source);
      outcome.failed(unavailable(e), payloadBytes);
    }
  }

  private Status unavailable(Exception error) {
    String what =
        error instanceof TimeoutException
            ? "Kafka did not acknowledge the event within " + deliveryTimeout.toSeconds() + " s"
            : "Kafka refused the event: " + error.getMessage();
    return Status.UNAVAILABLE.withDescription(what + "; events without an ack must be sent again");
  }

  /** Sends what is buffered and waits for Kafka's acknowledgements, up to {@code timeout}. */
  void close(Duration timeout) {
    producer.close(timeout);
  }

  @Override
  public void close() {
    close(Duration.ofSeconds(10));
  }
}
