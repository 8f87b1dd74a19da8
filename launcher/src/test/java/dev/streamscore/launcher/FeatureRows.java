package dev.streamscore.launcher;

import dev.streamscore.etl.Replay;
import dev.streamscore.etl.TileKeys;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.Value;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Payments tile rows as an engine would write them, for tests of the store's side. */
final class FeatureRows {
  private FeatureRows() {}

  /**
   * Replays {@code n} payments events of the shipped spec (entity {@code entityOf(i)}, one second
   * apart from {@code t0}, amount 10 + i) and returns every row they make.
   */
  static List<FeatureRow> payments(
      Replay replay, int n, long t0, java.util.function.IntFunction<String> entityOf) {
    return payments(replay, 0, n, t0, 1_000, entityOf);
  }

  /** Events {@code from} to {@code to} (exclusive), {@code stepMs} apart. */
  static List<FeatureRow> payments(
      Replay replay,
      int from,
      int to,
      long t0,
      long stepMs,
      java.util.function.IntFunction<String> entityOf) {
    List<FeatureRow> rows = new ArrayList<>();
    for (int i = from; i < to; i++) {
      Event e =
          Event.newBuilder()
              .setSource("payments")
              .setEntityId(entityOf.apply(i))
              .setEventId("t" + i)
              .setEventTimeMs(t0 + i * stepMs)
              .putFields("amount", Value.newBuilder().setDoubleValue(10 + i).build())
              .putFields("merchant_id", Value.newBuilder().setStringValue("m" + i % 4).build())
              .build();
      rows.addAll(replay.accept(e).rows());
    }
    return rows;
  }

  /** Writes rows to their view's topic (4 partitions), keyed and partitioned as engines do. */
  static void send(KafkaProducer<byte[], byte[]> producer, List<FeatureRow> rows) {
    for (FeatureRow row : rows) {
      producer.send(
          new ProducerRecord<>(
              "features." + row.getView(),
              TileKeys.partition(row.getEntityId(), 4),
              TileKeys.key(row.getEntityId(), row.getTileStartMs()),
              row.toByteArray()));
    }
    producer.flush();
  }
}
