package dev.streamscore.scoring;

import dev.streamscore.proto.v1.Prediction;
import io.grpc.Status;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A scoring service's metrics: request counts by method and status code, latency, predictions. */
final class ScoringMetrics {
  private final Counter requests;
  private final Histogram latency;
  private final Counter predictions;
  private final Counter shadowDropped;
  private final Histogram behindSeconds;
  private final Histogram behindRecords;

  ScoringMetrics(PrometheusRegistry registry) {
    requests =
        Counter.builder()
            .name("streamscore_scoring_requests_total")
            .help("Scoring requests by method and gRPC status code.")
            .labelNames("method", "code")
            .register(registry);
    latency =
        Histogram.builder()
            .name("streamscore_scoring_latency_seconds")
            .help("Time from a request's arrival to its answer, in the server.")
            .labelNames("method")
            .classicOnly()
            .classicUpperBounds(
                0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1)
            .register(registry);
    predictions =
        Counter.builder()
            .name("streamscore_scoring_predictions_total")
            .help("Predictions by model, version and whether they were shadow predictions.")
            .labelNames("model", "version", "shadow")
            .register(registry);
    shadowDropped =
        Counter.builder()
            .name("streamscore_scoring_shadow_dropped_total")
            .help("Shadow scorings dropped because the shadow pool was full.")
            .register(registry);
    behindSeconds =
        Histogram.builder()
            .name("streamscore_scoring_features_behind_seconds")
            .help(
                "Per online prediction that read stored features: how long ago the newest event"
                    + " they reflect was appended, when the log holds later ones (0 when caught"
                    + " up).")
            .classicOnly()
            .classicUpperBounds(0, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)
            .register(registry);
    behindRecords =
        Histogram.builder()
            .name("streamscore_scoring_features_behind_records")
            .help(
                "Per online prediction that read stored features: records of the entity's events"
                    + " partition after the newest one they reflect.")
            .classicOnly()
            .classicUpperBounds(0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)
            .register(registry);
  }

  // Label lookups build a key per call; the data points a busy node touches on every request
  // are kept here instead.
  private final Map<String, CounterDataPoint> okRequests = new ConcurrentHashMap<>();
  private final Map<String, DistributionDataPoint> latencies = new ConcurrentHashMap<>();
  private final Map<String, CounterDataPoint> predicted = new ConcurrentHashMap<>();

  /** One request answered: by method, status code and time since {@code beganNanos}. */
  void done(String method, Status.Code code, long beganNanos) {
    (code == Status.Code.OK
            ? okRequests.computeIfAbsent(method, m -> requests.labelValues(m, "OK"))
            : requests.labelValues(method, code.name()))
        .inc();
    latencies
        .computeIfAbsent(method, latency::labelValues)
        .observe((System.nanoTime() - beganNanos) / 1e9);
  }

  /** One prediction, live or shadow (as it says). */
  void predicted(Prediction p) {
    String key = p.getModelName() + "@" + p.getModelVersion() + (p.getShadow() ? "/shadow" : "");
    predicted
        .computeIfAbsent(
            key,
            k ->
                predictions.labelValues(
                    p.getModelName(),
                    Long.toString(p.getModelVersion()),
                    Boolean.toString(p.getShadow())))
        .inc();
  }

  /** One online prediction's freshness, when it read stored features. */
  void freshness(Prediction p) {
    if (p.hasFreshness()) {
      behindSeconds.observe(p.getFreshness().getBehindMs() / 1e3);
      behindRecords.observe(p.getFreshness().getBehindRecords());
    }
  }

  void shadowDropped() {
    shadowDropped.inc();
  }
}
