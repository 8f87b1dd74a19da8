package dev.streamscore.etl.flink;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Keeps each record's bytes and coordinates; parsing waits for the keyed function, which turns
 * anything that is not an event (a tombstone included) into a dead letter.
 */
final class EventDeserializer implements KafkaRecordDeserializationSchema<EventRecord> {
  private static final long serialVersionUID = 1L;

  @Override
  public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<EventRecord> out) {
    out.collect(
        new EventRecord(
            record.topic(),
            record.partition(),
            record.offset(),
            record.timestamp(),
            record.key(),
            record.value()));
  }

  @Override
  public TypeInformation<EventRecord> getProducedType() {
    return TypeInformation.of(EventRecord.class);
  }
}
