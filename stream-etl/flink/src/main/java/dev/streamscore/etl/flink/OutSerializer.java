package dev.streamscore.etl.flink;

import dev.streamscore.etl.TileKeys;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Tile rows go to their entity's partition (as its events do); dead letters by key. */
final class OutSerializer implements KafkaRecordSerializationSchema<KafkaOut> {
  private static final long serialVersionUID = 1L;

  @Override
  public ProducerRecord<byte[], byte[]> serialize(
      KafkaOut out, KafkaSinkContext context, Long timestamp) {
    Integer partition =
        out.entityId == null
            ? null
            : TileKeys.partition(out.entityId, context.getPartitionsForTopic(out.topic).length);
    return new ProducerRecord<>(out.topic, partition, out.timestamp, out.key, out.value);
  }
}
