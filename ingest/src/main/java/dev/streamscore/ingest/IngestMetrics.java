package dev.streamscore.ingest;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Ingest counters as Prometheus metrics, read at scrape time:
 *
 * <ul>
 *   <li>{@code streamscore_ingest_received_total{stage,source}}
 *   <li>{@code streamscore_ingest_valid_total{stage,source}} (for the gateway: accepted into the
 *       raw topic)
 *   <li>{@code streamscore_ingest_rejected_total{stage,source,reason}}
 *   <li>{@code streamscore_ingest_failed_total{stage,source}} (Kafka failed; the client was told to
 *       resend)
 *   <li>gauges {@code streamscore_ingest_gateway_in_flight_events}, {@code
 *       streamscore_ingest_gateway_stalled_streams}, {@code
 *       streamscore_ingest_gateway_active_calls}
 * </ul>
 *
 * <p>{@code stage} is {@code validator} or {@code gateway}. Register one instance per registry.
 */
public final class IngestMetrics implements MultiCollector {
  private final Map<String, IngestCounters> stages = new LinkedHashMap<>();
  private IngestGateway gateway;

  /** Adds the validator's counters. */
  public IngestMetrics validator(Validator validator) {
    stages.put(ValidatorTopology.STAGE, validator.counters());
    return this;
  }

  /** Adds the gateway's counters and gauges. */
  public IngestMetrics gateway(IngestGateway gateway) {
    stages.put(GatewayPublisher.STAGE, gateway.counters());
    this.gateway = gateway;
    return this;
  }

  @Override
  public MetricSnapshots collect() {
    CounterSnapshot.Builder received = counter("received", "Events read, per stage and source.");
    CounterSnapshot.Builder valid =
        counter("valid", "Events that passed validation (gateway: accepted into raw.<source>).");
    CounterSnapshot.Builder rejected =
        counter("rejected", "Events rejected to the dead-letter topic, by reason.");
    CounterSnapshot.Builder failed =
        counter("failed", "Gateway events whose write to Kafka failed; the client must resend.");
    stages.forEach(
        (stage, counters) ->
            counters
                .snapshot()
                .forEach(
                    (key, value) -> {
                      String[] parts = key.split("\\.", 3);
                      Labels labels = Labels.of("stage", stage, "source", parts[0]);
                      CounterDataPointSnapshot.Builder point =
                          CounterDataPointSnapshot.builder().value(value);
                      switch (parts[1]) {
                        case "received" -> received.dataPoint(point.labels(labels).build());
                        case "valid" -> valid.dataPoint(point.labels(labels).build());
                        case "failed" -> failed.dataPoint(point.labels(labels).build());
                        case "rejected" -> {
                          if (parts.length == 3) {
                            rejected.dataPoint(
                                point.labels(labels.add("reason", parts[2])).build());
                          }
                        }
                        default -> {}
                      }
                    }));
    List<MetricSnapshot> out =
        new ArrayList<>(List.of(received.build(), valid.build(), rejected.build(), failed.build()));
    if (gateway != null) {
      out.add(
          gauge(
              "gateway_in_flight_events",
              "Events read and not yet acked.",
              gateway.inFlightEvents()));
      out.add(
          gauge(
              "gateway_stalled_streams",
              "Streams whose client is not reading acks.",
              gateway.stalledStreams()));
      out.add(
          gauge("gateway_active_calls", "Streams and batches in progress.", gateway.activeCalls()));
    }
    return new MetricSnapshots(out);
  }

  private static CounterSnapshot.Builder counter(String name, String help) {
    return CounterSnapshot.builder().name("streamscore_ingest_" + name).help(help);
  }

  private static GaugeSnapshot gauge(String name, String help, double value) {
    return GaugeSnapshot.builder()
        .name("streamscore_ingest_" + name)
        .help(help)
        .dataPoint(GaugeDataPointSnapshot.builder().value(value).build())
        .build();
  }
}
