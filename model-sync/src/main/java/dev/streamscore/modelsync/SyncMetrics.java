package dev.streamscore.modelsync;

import dev.streamscore.proto.v1.SyncState;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/**
 * A sync agent's state as Prometheus metrics, read at scrape time: {@code
 * streamscore_model_swaps_total}, {@code streamscore_model_swap_failures_total}, {@code
 * streamscore_model_versions_open} (loaded and not yet closed), and per alias {@code
 * streamscore_model_serving_revision} and {@code streamscore_model_sync_failed} (1 while the latest
 * change could not be applied).
 */
public final class SyncMetrics implements MultiCollector {
  private final SyncAgent agent;

  public SyncMetrics(SyncAgent agent) {
    this.agent = agent;
  }

  @Override
  public MetricSnapshots collect() {
    SyncAgent.Stats stats = agent.stats();
    GaugeSnapshot.Builder revision =
        GaugeSnapshot.builder()
            .name("streamscore_model_serving_revision")
            .help("Registry revision of the alias state this node serves; 0 before the first.");
    GaugeSnapshot.Builder failed =
        GaugeSnapshot.builder()
            .name("streamscore_model_sync_failed")
            .help("1 while the alias's latest change could not be applied (the previous serves).");
    for (SyncAgent.TargetStatus s : agent.statuses()) {
      Labels labels = Labels.of("model", s.target().model(), "alias", s.target().alias());
      revision.dataPoint(
          GaugeDataPointSnapshot.builder().labels(labels).value(s.servingRevision()).build());
      failed.dataPoint(
          GaugeDataPointSnapshot.builder()
              .labels(labels)
              .value(s.state() == SyncState.SYNC_STATE_FAILED ? 1 : 0)
              .build());
    }
    return MetricSnapshots.of(
        counter("streamscore_model_swaps", "Serving sets swapped in since start.", stats.swaps()),
        counter(
            "streamscore_model_swap_failures",
            "Alias changes refused (download, checksum, load, validation, warm-up).",
            stats.failures()),
        GaugeSnapshot.builder()
            .name("streamscore_model_versions_open")
            .help("Model versions loaded and not yet closed.")
            .dataPoint(
                GaugeDataPointSnapshot.builder()
                    .value(stats.versionsLoaded() - stats.versionsClosed())
                    .build())
            .build(),
        revision.build(),
        failed.build());
  }

  private static CounterSnapshot counter(String name, String help, long value) {
    return CounterSnapshot.builder()
        .name(name)
        .help(help)
        .dataPoint(CounterDataPointSnapshot.builder().value(value).build())
        .build();
  }
}
