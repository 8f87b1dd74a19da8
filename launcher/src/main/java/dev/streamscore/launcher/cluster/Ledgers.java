package dev.streamscore.launcher.cluster;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.kafka.TopicReader;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.Prediction;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;

/**
 * The committed ledgers of the records the drill wrote (raw offsets from {@code start} on): those
 * raw records, their outcomes, their events and every stream prediction.
 */
record Ledgers(long rawRecords, List<String> outcomes, List<String> events, List<String> scored) {
  private static final String SOURCE = "payments";
  private static final String MODEL = Drill.MODEL;

  long outcomeCount() {
    return outcomes.size();
  }

  long scoredOf(List<String> ids) {
    Set<String> wanted = new HashSet<>(ids);
    return scored.stream().filter(wanted::contains).distinct().count();
  }

  static Ledgers read(Map<String, Object> client, Duration timeout, Map<Integer, Long> start) {
    String rawTopic = "raw." + SOURCE;
    long[] raw = {0};
    TopicReader.readAll(
        client,
        rawTopic,
        timeout,
        r -> {
          if (r.offset() >= start.getOrDefault(r.partition(), 0L)) {
            raw[0]++;
          }
        });
    List<String> outcomes = new ArrayList<>();
    List<String> events = new ArrayList<>();
    TopicReader.readAll(
        client,
        "events." + SOURCE,
        timeout,
        r -> {
          Event e = parse(() -> Event.parseFrom(r.value()));
          if (e.getRawOffset() >= start.getOrDefault(e.getRawPartition(), 0L)) {
            outcomes.add(e.getRawTopic() + "/" + e.getRawPartition() + "/" + e.getRawOffset());
            events.add(r.topic() + "-" + r.partition() + "-" + r.offset());
          }
        });
    TopicReader.readAll(
        client,
        "events.dlq",
        timeout,
        r -> {
          DeadLetter d = parse(() -> DeadLetter.parseFrom(r.value()));
          // The validator's verdicts on raw records; a gateway's rejects never reached raw.*,
          // and stream scoring's are about events.
          if (d.getSourceTopic().equals(rawTopic)
              && d.getStage().equals("validator")
              && d.getSourceOffset() >= start.getOrDefault(d.getSourcePartition(), 0L)) {
            outcomes.add(
                d.getSourceTopic() + "/" + d.getSourcePartition() + "/" + d.getSourceOffset());
          }
        });
    List<String> scored = new ArrayList<>();
    TopicReader.readAll(
        client,
        "predictions." + MODEL,
        timeout,
        r -> {
          Prediction p = parse(() -> Prediction.parseFrom(r.value()));
          if (p.getNodeId().equals("stream")) {
            scored.add(p.getRequestId());
          }
        });
    return new Ledgers(raw[0], outcomes, events, scored);
  }

  /** Where raw.payments ends now, per partition. */
  static Map<Integer, Long> rawEnds(String bootstrap) {
    try (Admin admin = Admin.create(KafkaClients.config(bootstrap))) {
      String topic = "raw." + SOURCE;
      int partitions =
          admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      for (int p = 0; p < partitions; p++) {
        latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
      }
      Map<Integer, Long> ends = new HashMap<>();
      admin
          .listOffsets(latest)
          .all()
          .get()
          .forEach((tp, info) -> ends.put(tp.partition(), info.offset()));
      return ends;
    } catch (ExecutionException e) {
      throw new ClusterException("cannot read where raw." + SOURCE + " ends: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ClusterException("interrupted", e);
    }
  }

  private interface Parse<T> {
    T parse() throws InvalidProtocolBufferException;
  }

  private static <T> T parse(Parse<T> parse) {
    try {
      return parse.parse();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a record the platform wrote does not parse", e);
    }
  }
}
