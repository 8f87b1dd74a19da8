package dev.streamscore.ingest;

import dev.streamscore.etl.DeadLetters;
import dev.streamscore.etl.EventValidator;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.etl.SourceSpec;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.etl.Validation;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.RejectReason;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.Stores;

/**
 * The validator: every record of {@code raw.<source>} becomes exactly one record, either a keyed
 * {@code Event} in {@code events.<source>} or a {@code DeadLetter} in the dead-letter topic.
 *
 * <p>It subscribes to every topic named {@code raw.*}: a record in the raw topic of a source the
 * spec does not declare becomes an UNKNOWN_SOURCE dead letter rather than sitting unread. Run it
 * with {@code processing.guarantee=exactly_once_v2} so that a crash neither loses nor duplicates a
 * record.
 */
public final class ValidatorTopology {
  /** The default dead-letter topic. */
  public static final String DEFAULT_DLQ = TopicNames.DLQ;

  static final String STAGE = "validator";
  private static final String SOURCE_NODE = "raw";
  private static final String PROCESSOR_NODE = "validate";
  private static final String DLQ_NODE = "sink-dlq";
  static final String IDENTITY_STORE = "identity";

  private ValidatorTopology() {}

  /**
   * Builds the topology.
   *
   * @param spec the declared sources
   * @param dlqTopic where rejected records go
   * @param counters counts received, valid and rejected records
   * @param clock stamps ingest and rejection times
   */
  public static Topology build(
      FeatureSpec spec, String dlqTopic, IngestCounters counters, Clock clock) {
    Topology topology = new Topology();
    topology.addSource(
        Topology.AutoOffsetReset.EARLIEST,
        SOURCE_NODE,
        new ByteArrayDeserializer(),
        new ByteArrayDeserializer(),
        Pattern.compile(TopicNames.rawPattern()));
    Map<String, EventValidator> validators = new HashMap<>();
    for (SourceSpec source : spec.sources().values()) {
      validators.put(source.rawTopic(), new EventValidator(source, clock));
    }
    topology.addProcessor(
        PROCESSOR_NODE, () -> new ValidateProcessor(validators, counters, clock), SOURCE_NODE);
    // Never read or written. Kafka Streams keeps its process id (and so its transactional ids) in
    // the state directory only when the topology has a persistent store; without one, a restart
    // after a crash got new ids and waited out the dead process's open transaction before it
    // could read its committed offsets. With it, the restart fences that transaction at once.
    topology.addStateStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(IDENTITY_STORE), Serdes.Bytes(), Serdes.Bytes())
            .withLoggingDisabled(),
        PROCESSOR_NODE);
    for (SourceSpec source : spec.sources().values()) {
      topology.addSink(
          sinkName(source.rawTopic()),
          source.eventsTopic(),
          new ByteArraySerializer(),
          new ByteArraySerializer(),
          PROCESSOR_NODE);
    }
    topology.addSink(
        DLQ_NODE, dlqTopic, new ByteArraySerializer(), new ByteArraySerializer(), PROCESSOR_NODE);
    return topology;
  }

  private static String sinkName(String rawTopic) {
    return "sink-" + rawTopic;
  }

  /** Validates one record and forwards it to exactly one sink. */
  private static final class ValidateProcessor
      implements Processor<byte[], byte[], byte[], byte[]> {
    private final Map<String, EventValidator> validators;
    private final IngestCounters counters;
    private final Clock clock;
    private ProcessorContext<byte[], byte[]> context;

    ValidateProcessor(
        Map<String, EventValidator> validators, IngestCounters counters, Clock clock) {
      this.validators = validators;
      this.counters = counters;
      this.clock = clock;
    }

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
      this.context = context;
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
      RecordMetadata meta =
          context
              .recordMetadata()
              .orElseThrow(() -> new IllegalStateException("no record metadata"));
      RecordOrigin origin = new RecordOrigin(meta.topic(), meta.partition(), meta.offset());
      String sourceName = TopicNames.sourceOfRaw(meta.topic());
      counters.received(sourceName);
      long now = clock.millis();
      // A record's arrival is its Kafka timestamp, unless that is missing or ahead of us.
      long arrival = record.timestamp() > 0 && record.timestamp() <= now ? record.timestamp() : now;
      Validation result;
      EventValidator validator = validators.get(meta.topic());
      if (validator == null) {
        result =
            new Validation.Invalid(
                RejectReason.REJECT_REASON_UNKNOWN_SOURCE,
                "",
                "source '" + sourceName + "' is not declared in the spec");
      } else {
        try {
          result = validator.validate(record.value(), origin, arrival);
        } catch (RuntimeException e) {
          // A defect of ours, not the record's: set the record aside and go on.
          result =
              new Validation.Invalid(
                  RejectReason.REJECT_REASON_INTERNAL, "", DeadLetters.internal(STAGE, e));
        }
      }
      if (result instanceof Validation.Valid valid) {
        Event event = valid.event();
        context.forward(
            new Record<>(
                event.getEntityId().getBytes(StandardCharsets.UTF_8),
                event.toByteArray(),
                // Never ahead of now: brokers refuse record timestamps far in the future.
                Math.min(event.getEventTimeMs(), arrival)),
            sinkName(meta.topic()));
        counters.valid(sourceName);
      } else if (result instanceof Validation.Invalid invalid) {
        reject(record, origin, sourceName, invalid, arrival, now);
      }
    }

    private void reject(
        Record<byte[], byte[]> record,
        RecordOrigin origin,
        String source,
        Validation.Invalid invalid,
        long arrival,
        long now) {
      DeadLetter letter =
          DeadLetters.of(
              new DeadLetters.Original(
                  source, origin, record.timestamp(), record.key(), record.value()),
              invalid.reason(),
              invalid.field(),
              invalid.message(),
              STAGE,
              now);
      context.forward(new Record<>(record.key(), letter.toByteArray(), arrival), DLQ_NODE);
      // Counted once forwarded: if forwarding fails, the dead-letter handler counts it as INTERNAL.
      counters.rejected(source, invalid.reason());
    }
  }
}
