package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamscore.kafka.TopicReader;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.Prediction;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the platform wrote, read back committed: the outcome of every raw record and the stream
 * prediction of every event — the ledgers the exactly-once checks of the multi-process tests
 * compare.
 */
final class Ledger {
  private Ledger() {}

  static void produceToKafka(String bootstrap, int n, int seed) {
    CliRun run =
        CliRun.of(
            "produce",
            "--kafka",
            bootstrap,
            "-n",
            Integer.toString(n),
            "--rate",
            "0",
            "--invalid-rate",
            "0",
            "--seed",
            Integer.toString(seed));
    assertThat(run.code()).as(run.err()).isZero();
  }

  /** The request ids (the scored events' topic-partition-offset) of the committed predictions. */
  static List<String> streamPredictions(Map<String, Object> client, String model) {
    List<String> ids = new ArrayList<>();
    TopicReader.readAll(
        client,
        "predictions." + model,
        Duration.ofMinutes(1),
        r -> {
          try {
            Prediction p = Prediction.parseFrom(r.value());
            if (p.getNodeId().equals("stream")) {
              ids.add(p.getRequestId());
            }
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
          }
        });
    return ids;
  }

  /**
   * The raw record (topic/partition/offset) behind every event and every ingest dead letter
   * (validator or gateway), committed.
   */
  static List<String> outcomes(Map<String, Object> client) {
    List<String> at = new ArrayList<>();
    TopicReader.readAll(
        client,
        "events.payments",
        Duration.ofMinutes(1),
        r -> {
          try {
            Event e = Event.parseFrom(r.value());
            at.add(e.getRawTopic() + "/" + e.getRawPartition() + "/" + e.getRawOffset());
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
          }
        });
    TopicReader.readAll(
        client,
        "events.dlq",
        Duration.ofMinutes(1),
        r -> {
          try {
            DeadLetter d = DeadLetter.parseFrom(r.value());
            if (d.getStage().equals("stream-scoring")) {
              return; // an event that was validated but could not be scored: not ingest's outcome
            }
            at.add(d.getSourceTopic() + "/" + d.getSourcePartition() + "/" + d.getSourceOffset());
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
          }
        });
    return at;
  }
}
