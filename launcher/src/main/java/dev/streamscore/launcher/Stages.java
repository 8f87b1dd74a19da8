package dev.streamscore.launcher;

import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.proto.Supervised;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state of each stage of {@code up} and how far behind its input it is, as metrics:
 *
 * <ul>
 *   <li>{@code streamscore_stage_up{stage}}: 1 while the stage runs
 *   <li>{@code streamscore_stage_state{stage,state,reason}}: 1 for the current state (RUNNING,
 *       WAITING, RESTARTING, FAILED, STOPPED) with the reason when not running, 0 for the others
 *   <li>{@code streamscore_stage_restarts_total{stage}}
 *   <li>{@code streamscore_stage_lag_records{stage}}: records of its input not yet consumed by its
 *       consumer group (read committed), refreshed by {@link #refreshLag()}
 * </ul>
 *
 * Close order: the admin client it reads lag with.
 */
final class Stages implements MultiCollector, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Stages.class);
  private static final int MAX_REASON = 200;

  private record Lagged(String group, Predicate<String> topics) {}

  private final Map<String, Supplier<Supervised.Status>> stages = new LinkedHashMap<>();
  private final Map<String, Lagged> groups = new LinkedHashMap<>();
  private final Map<String, Long> lag = new ConcurrentHashMap<>();
  private final Admin admin;

  Stages(String bootstrap) {
    this.admin =
        Admin.create(
            KafkaClients.config(
                bootstrap,
                Map.of(
                    AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                    5_000,
                    AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
                    5_000)));
  }

  /**
   * Adds a stage.
   *
   * @param group the consumer group whose lag is the stage's, or null
   * @param topics which of the group's topics count
   */
  synchronized void add(
      String stage, Supplier<Supervised.Status> status, String group, Predicate<String> topics) {
    stages.put(stage, status);
    if (group != null) {
      groups.put(stage, new Lagged(group, topics));
    }
  }

  synchronized Map<String, Supervised.Status> statuses() {
    Map<String, Supervised.Status> out = new LinkedHashMap<>();
    stages.forEach((name, s) -> out.put(name, s.get()));
    return out;
  }

  /** Records of the stage's input its group has not consumed, or -1 when unknown. */
  long lag(String stage) {
    return lag.getOrDefault(stage, -1L);
  }

  /** Reads each group's committed offsets and the topics' ends (up to 5 s per group). */
  void refreshLag() {
    Map<String, Lagged> snapshot;
    synchronized (this) {
      snapshot = new LinkedHashMap<>(groups);
    }
    snapshot.forEach(
        (stage, g) -> {
          try {
            Map<TopicPartition, OffsetAndMetadata> committed =
                admin
                    .listConsumerGroupOffsets(g.group())
                    .partitionsToOffsetAndMetadata()
                    .get(5, TimeUnit.SECONDS);
            Map<TopicPartition, OffsetSpec> ends = new HashMap<>();
            committed.keySet().stream()
                .filter(tp -> g.topics().test(tp.topic()))
                .forEach(tp -> ends.put(tp, OffsetSpec.latest()));
            if (ends.isEmpty()) {
              lag.remove(stage);
              return;
            }
            var offsets =
                admin
                    .listOffsets(ends, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
                    .all()
                    .get(5, TimeUnit.SECONDS);
            long behind = 0;
            for (var e : offsets.entrySet()) {
              OffsetAndMetadata at = committed.get(e.getKey());
              behind += Math.max(0, e.getValue().offset() - (at == null ? 0 : at.offset()));
            }
            lag.put(stage, behind);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } catch (Exception e) {
            lag.remove(stage);
            LOG.debug("lag of {} unknown: {}", stage, e.toString());
          }
        });
  }

  @Override
  public MetricSnapshots collect() {
    GaugeSnapshot.Builder up =
        GaugeSnapshot.builder().name("streamscore_stage_up").help("1 while the stage runs.");
    GaugeSnapshot.Builder state =
        GaugeSnapshot.builder()
            .name("streamscore_stage_state")
            .help("1 for the stage's current state, with the reason when it does not run.");
    CounterSnapshot.Builder restarts =
        CounterSnapshot.builder()
            .name("streamscore_stage_restarts")
            .help("How often the stage was restarted after it stopped on its own.");
    GaugeSnapshot.Builder lagged =
        GaugeSnapshot.builder()
            .name("streamscore_stage_lag_records")
            .help("Records of the stage's input its consumer group has not consumed.");
    statuses()
        .forEach(
            (name, s) -> {
              up.dataPoint(
                  GaugeSnapshot.GaugeDataPointSnapshot.builder()
                      .labels(Labels.of("stage", name))
                      .value(s.state() == Supervised.State.RUNNING ? 1 : 0)
                      .build());
              for (Supervised.State st : Supervised.State.values()) {
                boolean now = st == s.state();
                String reason = now ? cut(s.reason()) : "";
                state.dataPoint(
                    GaugeSnapshot.GaugeDataPointSnapshot.builder()
                        .labels(Labels.of("stage", name, "state", st.name(), "reason", reason))
                        .value(now ? 1 : 0)
                        .build());
              }
              restarts.dataPoint(
                  CounterSnapshot.CounterDataPointSnapshot.builder()
                      .labels(Labels.of("stage", name))
                      .value(s.restarts())
                      .build());
              long behind = lag(name);
              if (behind >= 0) {
                lagged.dataPoint(
                    GaugeSnapshot.GaugeDataPointSnapshot.builder()
                        .labels(Labels.of("stage", name))
                        .value(behind)
                        .build());
              }
            });
    return MetricSnapshots.of(up.build(), state.build(), restarts.build(), lagged.build());
  }

  private static String cut(String reason) {
    String one = reason.replace('\n', ' ');
    return one.length() <= MAX_REASON ? one : one.substring(0, MAX_REASON - 3) + "...";
  }

  @Override
  public void close() {
    admin.close(Duration.ofSeconds(5));
  }
}
