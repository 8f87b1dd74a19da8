package dev.streamscore.featurestore;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/**
 * A materializer's progress as Prometheus metrics, read at scrape time: {@code
 * streamscore_feature_store_lag_rows} (records behind the feature topics' ends), {@code
 * streamscore_feature_store_bootstrapping} (1 until it has caught up), {@code
 * streamscore_feature_store_freshness_seconds} (now minus the newest row's {@code updated_at}; -1
 * before the first) and {@code streamscore_feature_store_rows_read_total}.
 */
public final class MaterializerMetrics implements MultiCollector {
  private final Materializer materializer;

  public MaterializerMetrics(Materializer materializer) {
    this.materializer = materializer;
  }

  @Override
  public MetricSnapshots collect() {
    long freshness = materializer.freshnessMs();
    return MetricSnapshots.of(
        gauge("lag_rows", "Records behind the feature topics' ends.", materializer.lag()),
        gauge(
            "bootstrapping",
            "1 until the store has caught up with the topics as they were at start.",
            materializer.caughtUp() ? 0 : 1),
        gauge(
            "freshness_seconds",
            "Now minus the newest stored row's updated_at; -1 before the first row.",
            freshness < 0 ? -1 : freshness / 1000.0),
        CounterSnapshot.builder()
            .name("streamscore_feature_store_rows_read")
            .help("Records read from the feature topics since start.")
            .dataPoint(CounterDataPointSnapshot.builder().value(materializer.rowsRead()).build())
            .build());
  }

  private static GaugeSnapshot gauge(String name, String help, double value) {
    return GaugeSnapshot.builder()
        .name("streamscore_feature_store_" + name)
        .help(help)
        .dataPoint(GaugeDataPointSnapshot.builder().value(value).build())
        .build();
  }
}
