package dev.streamscore.scoring.monitor;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * A monitor's figures as Prometheus metrics, computed at scrape time.
 *
 * <ul>
 *   <li>Drift, per model, version, role ({@code input} or {@code output}), column and window:
 *       {@code streamscore_drift_psi}, {@code _ks} (numeric columns), {@code _js}, {@code _rows}
 *       and {@code _defaulted_ratio}; and {@code streamscore_drift_min_rows}, the rows an alert
 *       should ask for.
 *   <li>Live quality, per model, version and window: {@code streamscore_quality_auc}, {@code
 *       _log_loss}, {@code _precision}, {@code _recall} (at the threshold), {@code
 *       _calibration_error}, {@code _labelled}, {@code _positives}; per model and version {@code
 *       streamscore_quality_reference_auc} (the registered {@code auc}) and {@code
 *       streamscore_quality_unlabelled_total}.
 *   <li>The monitor's own counters ({@code streamscore_monitor_*}).
 * </ul>
 */
public final class MonitorMetrics implements MultiCollector {
  private final PredictionMonitor monitor;

  public MonitorMetrics(PredictionMonitor monitor) {
    this.monitor = monitor;
  }

  @Override
  public MetricSnapshots collect() {
    MetricSnapshots.Builder out = MetricSnapshots.builder();
    drift(out, monitor.drift(""));
    quality(out, monitor.quality(""));
    out.metricSnapshot(
        gauge("streamscore_monitor_caught_up")
            .help("1 once the monitor has read the logs to where they ended at start.")
            .dataPoint(point(Labels.EMPTY, monitor.caughtUp() ? 1 : 0))
            .build());
    out.metricSnapshot(
        gauge("streamscore_drift_min_rows")
            .help("Rows a window needs before its drift is worth an alert.")
            .dataPoint(point(Labels.EMPTY, monitor.config().minRows()))
            .build());
    out.metricSnapshot(
        counter("predictions_read", "Records read from predictions.* topics.", monitor.read()));
    out.metricSnapshot(
        counter("unreadable", "Records that were not a prediction.", monitor.unreadable()));
    out.metricSnapshot(
        counter(
            "late",
            "Predictions or labelled pairs older than the longest window.",
            monitor.late()));
    out.metricSnapshot(
        counter("future", "Predictions dated beyond the longest window ahead.", monitor.future()));
    out.metricSnapshot(
        counter(
            "bad_scores",
            "Predictions whose positive score is not in [0, 1].",
            monitor.badScores()));
    out.metricSnapshot(counter("labels_read", "Labels read.", monitor.labelCounts().read()));
    out.metricSnapshot(
        counter(
            "bad_labels",
            "Labels skipped: not a Label, no id, or not 0 or 1.",
            monitor.labelCounts().bad()));
    out.metricSnapshot(
        byVersion(
            "streamscore_monitor_unmonitored",
            "Predictions of versions the registry could not describe.",
            monitor.unmonitored()));
    out.metricSnapshot(
        byVersion(
            "streamscore_quality_unlabelled",
            "Predictions whose label did not arrive within the horizon.",
            monitor.unlabelled()));
    return out.build();
  }

  private static void drift(MetricSnapshots.Builder out, List<ColumnDrift> drift) {
    Function<ColumnDrift, Labels> labels =
        d ->
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
                d.window());
    out.metricSnapshot(
        gauges(
            drift,
            "streamscore_drift_psi",
            "Population stability index against the reference.",
            labels,
            ColumnDrift::psi));
    out.metricSnapshot(
        gauges(
            drift,
            "streamscore_drift_ks",
            "Kolmogorov-Smirnov distance on the reference's bins (numeric columns).",
            labels,
            ColumnDrift::ks));
    out.metricSnapshot(
        gauges(
            drift,
            "streamscore_drift_js",
            "Jensen-Shannon divergence (base 2) against the reference.",
            labels,
            ColumnDrift::js));
    out.metricSnapshot(
        gauges(
            drift, "streamscore_drift_rows", "Live values in the window.", labels, d -> d.rows()));
    out.metricSnapshot(
        gauges(
            drift,
            "streamscore_drift_defaulted_ratio",
            "Share of the window's values that were a missing or expired feature's default.",
            labels,
            ColumnDrift::defaultedRatio));
  }

  private static void quality(MetricSnapshots.Builder out, List<VersionQuality> quality) {
    Function<VersionQuality, Labels> labels =
        q ->
            Labels.of(
                "model", q.model(), "version", Long.toString(q.version()), "window", q.window());
    out.metricSnapshot(
        gauges(
            quality,
            "streamscore_quality_auc",
            "Live ROC AUC of the window's labelled predictions.",
            labels,
            q -> q.quality().auc()));
    out.metricSnapshot(
        gauges(
            quality,
            "streamscore_quality_log_loss",
            "Live log loss.",
            labels,
            q -> q.quality().logLoss()));
    out.metricSnapshot(
        gauges(
            quality,
            "streamscore_quality_precision",
            "Live precision at the threshold.",
            labels,
            q -> q.quality().precision()));
    out.metricSnapshot(
        gauges(
            quality,
            "streamscore_quality_recall",
            "Live recall at the threshold.",
            labels,
            q -> q.quality().recall()));
    out.metricSnapshot(
        gauges(
            quality,
            "streamscore_quality_calibration_error",
            "Expected calibration error (10 equal bins).",
            labels,
            q -> q.quality().calibrationError()));
    out.metricSnapshot(
        gauges(
            quality,
            "streamscore_quality_labelled",
            "Labelled predictions in the window.",
            labels,
            q -> q.quality().labelled()));
    out.metricSnapshot(
        gauges(
            quality,
            "streamscore_quality_positives",
            "Of those, labelled positive.",
            labels,
            q -> q.quality().positives()));
    GaugeSnapshot.Builder reference =
        gauge("streamscore_quality_reference_auc").help("The AUC the version was registered with.");
    Set<String> seen = new HashSet<>();
    for (VersionQuality q : quality) {
      if (!Double.isNaN(q.referenceAuc()) && seen.add(q.model() + "@" + q.version())) {
        reference.dataPoint(
            point(
                Labels.of("model", q.model(), "version", Long.toString(q.version())),
                q.referenceAuc()));
      }
    }
    out.metricSnapshot(reference.build());
  }

  private static <T> GaugeSnapshot gauges(
      List<T> rows,
      String name,
      String help,
      Function<T, Labels> labels,
      ToDoubleFunction<T> value) {
    GaugeSnapshot.Builder g = gauge(name).help(help);
    for (T row : rows) {
      double v = value.applyAsDouble(row);
      if (!Double.isNaN(v)) { // no value is no sample: an empty window, or it does not apply
        g.dataPoint(point(labels.apply(row), v));
      }
    }
    return g.build();
  }

  private static GaugeSnapshot.Builder gauge(String name) {
    return GaugeSnapshot.builder().name(name);
  }

  private static GaugeDataPointSnapshot point(Labels labels, double value) {
    return GaugeDataPointSnapshot.builder().labels(labels).value(value).build();
  }

  private static CounterSnapshot counter(String name, String help, long value) {
    return CounterSnapshot.builder()
        .name("streamscore_monitor_" + name)
        .help(help)
        .dataPoint(CounterDataPointSnapshot.builder().value(value).build())
        .build();
  }

  private static CounterSnapshot byVersion(String name, String help, Map<String, Long> counts) {
    CounterSnapshot.Builder c = CounterSnapshot.builder().name(name).help(help);
    counts.forEach(
        (key, n) -> {
          int at = key.lastIndexOf('@');
          c.dataPoint(
              CounterDataPointSnapshot.builder()
                  .labels(
                      Labels.of("model", key.substring(0, at), "version", key.substring(at + 1)))
                  .value(n)
                  .build());
        });
    return c.build();
  }
}
