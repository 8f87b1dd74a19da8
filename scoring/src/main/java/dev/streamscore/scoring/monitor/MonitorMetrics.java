package dev.streamscore.scoring.monitor;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * A monitor's drift as Prometheus metrics, computed at scrape time: per model, version, role
 * ({@code input} or {@code output}), column and window, {@code streamscore_drift_psi}, {@code _ks}
 * (numeric columns), {@code _js}, {@code _rows} and {@code _defaulted_ratio}; {@code
 * streamscore_drift_min_rows}, the rows an alert should ask for; and the monitor's counters.
 */
public final class MonitorMetrics implements MultiCollector {
  private final PredictionMonitor monitor;

  public MonitorMetrics(PredictionMonitor monitor) {
    this.monitor = monitor;
  }

  @Override
  public MetricSnapshots collect() {
    List<ColumnDrift> drift = monitor.drift("");
    MetricSnapshots.Builder out = MetricSnapshots.builder();
    out.metricSnapshot(
        gauge(
            drift,
            "psi",
            "Population stability index of the window against the reference.",
            ColumnDrift::psi));
    out.metricSnapshot(
        gauge(
            drift,
            "ks",
            "Kolmogorov-Smirnov distance on the reference's bins (numeric columns).",
            ColumnDrift::ks));
    out.metricSnapshot(
        gauge(
            drift,
            "js",
            "Jensen-Shannon divergence (base 2) against the reference.",
            ColumnDrift::js));
    out.metricSnapshot(gauge(drift, "rows", "Live values in the window.", d -> d.rows()));
    out.metricSnapshot(
        gauge(
            drift,
            "defaulted_ratio",
            "Share of the window's values that were a missing or expired feature's default.",
            ColumnDrift::defaultedRatio));
    out.metricSnapshot(
        GaugeSnapshot.builder()
            .name("streamscore_monitor_caught_up")
            .help("1 once the monitor has read the prediction log to where it ended at start.")
            .dataPoint(GaugeDataPointSnapshot.builder().value(monitor.caughtUp() ? 1 : 0).build())
            .build());
    out.metricSnapshot(
        GaugeSnapshot.builder()
            .name("streamscore_drift_min_rows")
            .help("Rows a window needs before its drift is worth an alert.")
            .dataPoint(GaugeDataPointSnapshot.builder().value(monitor.config().minRows()).build())
            .build());
    out.metricSnapshot(
        counter("predictions_read", "Records read from predictions.* topics.", monitor.read()));
    out.metricSnapshot(
        counter("unreadable", "Records that were not a prediction.", monitor.unreadable()));
    out.metricSnapshot(
        counter("late", "Predictions older than the longest window when read.", monitor.late()));
    out.metricSnapshot(
        counter("future", "Predictions dated beyond the longest window ahead.", monitor.future()));
    CounterSnapshot.Builder unprofiled =
        CounterSnapshot.builder()
            .name("streamscore_monitor_unprofiled")
            .help("Predictions of versions without a reference profile.");
    for (Map.Entry<String, Long> e : monitor.unprofiled().entrySet()) {
      int at = e.getKey().lastIndexOf('@');
      unprofiled.dataPoint(
          CounterDataPointSnapshot.builder()
              .labels(
                  Labels.of(
                      "model",
                      e.getKey().substring(0, at),
                      "version",
                      e.getKey().substring(at + 1)))
              .value(e.getValue())
              .build());
    }
    out.metricSnapshot(unprofiled.build());
    return out.build();
  }

  private static GaugeSnapshot gauge(
      List<ColumnDrift> drift, String name, String help, ToDoubleFunction<ColumnDrift> value) {
    GaugeSnapshot.Builder g = GaugeSnapshot.builder().name("streamscore_drift_" + name).help(help);
    for (ColumnDrift d : drift) {
      double v = value.applyAsDouble(d);
      if (Double.isNaN(v)) {
        continue; // no value is no sample: an empty window or a statistic that does not apply
      }
      g.dataPoint(
          GaugeDataPointSnapshot.builder()
              .labels(
                  Labels.of(
                      "model",
                      d.model(),
                      "version",
                      Long.toString(d.version()),
                      "role",
                      d.role().label(),
                      "column",
                      d.name(),
                      "window",
                      d.window()))
              .value(v)
              .build());
    }
    return g.build();
  }

  private static CounterSnapshot counter(String name, String help, long value) {
    return CounterSnapshot.builder()
        .name("streamscore_monitor_" + name)
        .help(help)
        .dataPoint(CounterDataPointSnapshot.builder().value(value).build())
        .build();
  }
}
