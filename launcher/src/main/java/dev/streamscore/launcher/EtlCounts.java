package dev.streamscore.launcher;

import dev.streamscore.etl.EtlJobs;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.time.Clock;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The ETL job's own counts on the platform's {@code /metrics}, as the job last printed them:
 *
 * <ul>
 *   <li>{@code streamscore_etl_events_total{engine}}: events read from {@code events.<source>}
 *   <li>{@code streamscore_etl_rows_total{engine}}: tile rows written
 *   <li>{@code streamscore_etl_rejected_total{engine,reason}}: events rejected, by reason
 *       (DUPLICATE and LATE included, which write no dead letter)
 *   <li>{@code streamscore_etl_late_total{engine,view}}: events LATE for each view
 *   <li>{@code streamscore_etl_checkpoint_age_seconds{engine}}: since the newest checkpoint (Flink)
 *       or committed batch (Spark) completed
 * </ul>
 *
 * Counted since the job started: a restarted job counts from zero, which Prometheus' {@code rate()}
 * takes as a counter reset.
 */
final class EtlCounts implements MultiCollector {
  private static final String REJECTED = "rejected.";
  private static final String LATE = "late.";

  private final String engine;
  private final Supplier<Map<String, Long>> counts;

  private final Clock clock;

  EtlCounts(String engine, Supplier<Map<String, Long>> counts, Clock clock) {
    this.engine = engine;
    this.counts = counts;
    this.clock = clock;
  }

  @Override
  public MetricSnapshots collect() {
    Map<String, Long> now = counts.get();
    CounterSnapshot.Builder events =
        CounterSnapshot.builder()
            .name("streamscore_etl_events")
            .help("Events the ETL job read, since it started.");
    CounterSnapshot.Builder rows =
        CounterSnapshot.builder()
            .name("streamscore_etl_rows")
            .help("Tile rows the ETL job wrote, since it started.");
    CounterSnapshot.Builder rejected =
        CounterSnapshot.builder()
            .name("streamscore_etl_rejected")
            .help("Events the ETL job rejected, by reason, since it started.");
    Labels job = Labels.of("engine", engine);
    if (now.containsKey("events")) {
      events.dataPoint(point(job, now.get("events")));
    }
    if (now.containsKey("rows")) {
      rows.dataPoint(point(job, now.get("rows")));
    }
    now.forEach(
        (name, n) -> {
          if (name.startsWith(REJECTED)) {
            rejected.dataPoint(
                point(Labels.of("engine", engine, "reason", name.substring(REJECTED.length())), n));
          }
        });
    CounterSnapshot.Builder late =
        CounterSnapshot.builder()
            .name("streamscore_etl_late")
            .help("Events LATE for a view (beyond its allowed lateness), since the job started.");
    now.forEach(
        (name, n) -> {
          if (name.startsWith(LATE)) {
            late.dataPoint(
                point(Labels.of("engine", engine, "view", name.substring(LATE.length())), n));
          }
        });
    GaugeSnapshot.Builder age =
        GaugeSnapshot.builder()
            .name("streamscore_etl_checkpoint_age_seconds")
            .help(
                "Seconds since the ETL job's newest checkpoint (Flink) or committed batch (Spark)"
                    + " completed; absent before the first.");
    Long completed = now.get(EtlJobs.CHECKPOINT_COMPLETED_AT);
    if (completed != null && completed > 0) {
      age.dataPoint(
          GaugeSnapshot.GaugeDataPointSnapshot.builder()
              .labels(job)
              .value(Math.max(0, clock.millis() - completed) / 1000.0)
              .build());
    }
    return MetricSnapshots.of(
        events.build(), rows.build(), rejected.build(), late.build(), age.build());
  }

  private static CounterSnapshot.CounterDataPointSnapshot point(Labels labels, long value) {
    return CounterSnapshot.CounterDataPointSnapshot.builder().labels(labels).value(value).build();
  }
}
