package dev.streamscore.etl.flink;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.SourceSpec;
import dev.streamscore.etl.TopicNames;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;

/**
 * The Flink ETL job as a function of its inputs: {@link #features} turns a stream of event records
 * into tile rows and dead letters; {@link #source} and {@link #sink} are the Kafka ends the
 * deployed job uses, and tests may pass others.
 */
public final class FeatureJob {
  /** Where dead letters go unless configured otherwise. */
  public static final String DLQ_TOPIC = TopicNames.DLQ;

  private FeatureJob() {}

  /**
   * Keys the events by entity and runs them through the core.
   *
   * @param specYaml the spec's YAML text (parsed again on every task)
   * @param specOrigin how errors name the spec
   * @param source the source whose events these are
   * @param emitIntervalMs 0 emits a row for every change of a tile; otherwise the latest row of
   *     each changed tile every this many ms, before every checkpoint and at the end of input
   */
  public static DataStream<KafkaOut> features(
      DataStream<EventRecord> events,
      String specYaml,
      String specOrigin,
      String source,
      String dlqTopic,
      long emitIntervalMs) {
    // Fail here, on the client, rather than in every task.
    SourceSpec declared =
        FeatureSpec.parse(specYaml, specOrigin)
            .source(source)
            .orElseThrow(
                () -> new IllegalArgumentException("the spec declares no source '" + source + "'"));
    return events
        .keyBy(new EntityKey())
        .transform(
            "features: " + declared.name(),
            TypeInformation.of(KafkaOut.class),
            new EtlOperator(
                new EtlFunction(specYaml, specOrigin, source, dlqTopic, emitIntervalMs),
                emitIntervalMs))
        .uid("features-" + declared.name());
  }

  /**
   * Reads {@code events.<source>} from the earliest offset (or the checkpoint's), committed records
   * only.
   *
   * @param kafka connection settings (SASL, TLS); empty for plaintext
   * @param boundedness BOUNDED stops at the offsets that are latest when the job starts
   */
  public static KafkaSource<EventRecord> source(
      String bootstrap,
      Map<String, String> kafka,
      String topic,
      String groupId,
      Boundedness boundedness) {
    KafkaSourceBuilder<EventRecord> builder = KafkaSource.<EventRecord>builder();
    kafka.forEach(builder::setProperty);
    builder
        .setBootstrapServers(bootstrap)
        .setTopics(topic)
        .setGroupId(groupId)
        .setStartingOffsets(OffsetsInitializer.earliest())
        .setDeserializer(new EventDeserializer())
        // The validator writes events in transactions: never read an aborted one.
        .setProperty("isolation.level", "read_committed");
    if (boundedness == Boundedness.BOUNDED) {
      builder.setBounded(OffsetsInitializer.latest());
    } else {
      builder.setProperty("partition.discovery.interval.ms", "10000");
    }
    return builder.build();
  }

  /**
   * Writes tile rows and dead letters.
   *
   * @param kafka connection settings (SASL, TLS); empty for plaintext
   * @param guarantee EXACTLY_ONCE: transactions committed with each checkpoint (rows become visible
   *     then); AT_LEAST_ONCE, which the store tolerates (it keeps the greatest version of a tile),
   *     shows rows without waiting for a checkpoint
   * @param transactionalIdPrefix unique per job; a restarted job aborts what its predecessor left
   *     open
   */
  public static KafkaSink<KafkaOut> sink(
      String bootstrap,
      Map<String, String> kafka,
      DeliveryGuarantee guarantee,
      String transactionalIdPrefix) {
    Properties producer = new Properties();
    producer.putAll(kafka);
    // Must not exceed the broker's transaction.max.timeout.ms (15 min by default).
    producer.setProperty("transaction.timeout.ms", "600000");
    producer.setProperty("linger.ms", "20");
    producer.setProperty("batch.size", "262144");
    producer.setProperty("compression.type", "lz4");
    return KafkaSink.<KafkaOut>builder()
        .setBootstrapServers(bootstrap)
        .setKafkaProducerConfig(producer)
        .setRecordSerializer(new OutSerializer())
        .setDeliveryGuarantee(guarantee)
        .setTransactionalIdPrefix(transactionalIdPrefix)
        .build();
  }
}
