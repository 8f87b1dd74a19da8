package dev.streamscore.launcher;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code streamscore status}: the running platform's ingest counters per source, read from its
 * metrics endpoint.
 */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = {
      "Prints the running platform's stages and what it has ingested.",
      "",
      "First each stage's state (running, waiting, restarting or failed, with the reason), its",
      "restarts and its lag; then, per source and stage: received, valid, rejected by reason, and",
      "(gateway) failed writes, in-flight events and stalled streams."
    })
final class StatusCommand implements Callable<Integer> {

  @Option(
      names = "--metrics",
      paramLabel = "URL",
      defaultValue = "http://127.0.0.1:" + PlatformConfig.DEFAULT_METRICS_PORT + "/metrics",
      description =
          "The platform's metrics endpoint, as 'up' printed it (default: ${DEFAULT-VALUE}).")
  String metricsUrl;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws InterruptedException {
    String text = fetch(metricsUrl);
    PrintWriter out = spec.commandLine().getOut();
    printStages(PrometheusText.parse(text), out);
    Map<String, Map<String, Long>> table = new TreeMap<>();
    Map<String, Double> gauges = new TreeMap<>();
    for (PrometheusText.Sample s : PrometheusText.parse(text)) {
      if (!s.name().startsWith("streamscore_ingest_")) {
        continue;
      }
      String metric = s.name().substring("streamscore_ingest_".length());
      if (metric.startsWith("gateway_")) {
        gauges.put(metric.substring("gateway_".length()), s.value());
        continue;
      }
      metric = metric.replaceFirst("_total$", "");
      String row =
          s.labels().getOrDefault("source", "?") + " " + s.labels().getOrDefault("stage", "?");
      String column =
          s.labels().containsKey("reason") ? metric + "." + s.labels().get("reason") : metric;
      table.computeIfAbsent(row, r -> new TreeMap<>()).merge(column, (long) s.value(), Long::sum);
    }
    if (table.isEmpty()) {
      out.println("no events ingested yet");
    } else {
      out.printf(
          "%-14s %-10s %12s %12s %12s %8s%n",
          "source", "stage", "received", "valid", "rejected", "failed");
      table.forEach(
          (row, counts) -> {
            String[] parts = row.split(" ", 2);
            long rejected = 0;
            StringBuilder reasons = new StringBuilder();
            for (Map.Entry<String, Long> e : counts.entrySet()) {
              if (e.getKey().startsWith("rejected.")) {
                rejected += e.getValue();
                reasons
                    .append(reasons.length() == 0 ? "" : ", ")
                    .append(e.getKey().substring("rejected.".length()))
                    .append(' ')
                    .append(e.getValue());
              }
            }
            out.printf(
                "%-14s %-10s %12d %12d %12d %8d%n",
                parts[0],
                parts[1],
                counts.getOrDefault("received", 0L),
                counts.getOrDefault("valid", 0L),
                rejected,
                counts.getOrDefault("failed", 0L));
            if (reasons.length() > 0) {
              out.printf("%-25s rejected: %s%n", "", reasons);
            }
          });
    }
    if (!gauges.isEmpty()) {
      out.printf(
          "gateway: %d calls active, %d events in flight, %d streams stalled on their client%n",
          gauges.getOrDefault("active_calls", 0.0).longValue(),
          gauges.getOrDefault("in_flight_events", 0.0).longValue(),
          gauges.getOrDefault("stalled_streams", 0.0).longValue());
    }
    printEtl(PrometheusText.parse(text), out);
    out.flush();
    return 0;
  }

  /**
   * The ETL job's counts: {@code etl flink: 105 events, 84 rows, checkpoint 2 s ago; rejected:
   * DUPLICATE 5; late by view: user_txn 3} (rejections and views with none left out).
   */
  private static void printEtl(java.util.List<PrometheusText.Sample> samples, PrintWriter out) {
    Map<String, Map<String, Long>> rejected = new TreeMap<>();
    Map<String, Map<String, Long>> late = new TreeMap<>();
    Map<String, Map<String, Double>> figures = new TreeMap<>();
    for (PrometheusText.Sample s : samples) {
      String engine = s.labels().get("engine");
      if (!s.name().startsWith("streamscore_etl_") || engine == null) {
        continue;
      }
      switch (s.name()) {
        case "streamscore_etl_rejected_total" ->
            rejected
                .computeIfAbsent(engine, e -> new TreeMap<>())
                .put(s.labels().getOrDefault("reason", "?"), (long) s.value());
        case "streamscore_etl_late_total" ->
            late.computeIfAbsent(engine, e -> new TreeMap<>())
                .put(s.labels().getOrDefault("view", "?"), (long) s.value());
        default ->
            figures
                .computeIfAbsent(engine, e -> new TreeMap<>())
                .put(s.name().substring("streamscore_etl_".length()), s.value());
      }
    }
    figures.forEach(
        (engine, f) -> {
          StringBuilder line =
              new StringBuilder(
                  String.format(
                      "etl %s: %.0f events, %.0f rows",
                      engine,
                      f.getOrDefault("events_total", 0.0),
                      f.getOrDefault("rows_total", 0.0)));
          if (f.containsKey("checkpoint_age_seconds")) {
            line.append(String.format(", checkpoint %.0f s ago", f.get("checkpoint_age_seconds")));
          }
          line.append(nonZero("; rejected: ", rejected.get(engine)));
          line.append(nonZero("; late by view: ", late.get(engine)));
          out.println(line);
        });
  }

  private static String nonZero(String prefix, Map<String, Long> counts) {
    StringBuilder out = new StringBuilder();
    if (counts != null) {
      counts.forEach(
          (name, n) -> {
            if (n > 0) {
              out.append(out.isEmpty() ? prefix : ", ").append(name).append(' ').append(n);
            }
          });
    }
    return out.toString();
  }

  /** One line per stage: its state, restarts, lag and, when it does not run, why. */
  private static void printStages(java.util.List<PrometheusText.Sample> samples, PrintWriter out) {
    Map<String, String[]> stages = new java.util.LinkedHashMap<>();
    for (PrometheusText.Sample s : samples) {
      String stage = s.labels().get("stage");
      if (stage == null || !s.name().startsWith("streamscore_stage_")) {
        continue;
      }
      String[] row = stages.computeIfAbsent(stage, k -> new String[] {"?", "0", "-", ""});
      switch (s.name()) {
        case "streamscore_stage_state" -> {
          if (s.value() == 1) {
            row[0] = s.labels().getOrDefault("state", "?");
            row[3] = s.labels().getOrDefault("reason", "");
          }
        }
        case "streamscore_stage_restarts_total" -> row[1] = Long.toString((long) s.value());
        case "streamscore_stage_lag_records" -> row[2] = Long.toString((long) s.value());
        default -> {}
      }
    }
    if (stages.isEmpty()) {
      return;
    }
    out.printf("%-16s %-11s %9s %12s  %s%n", "stage", "state", "restarts", "lag", "reason");
    stages.forEach(
        (stage, row) ->
            out.printf("%-16s %-11s %9s %12s  %s%n", stage, row[0], row[1], row[2], row[3]));
    out.println();
  }

  static String fetch(String url) throws InterruptedException {
    URI uri;
    try {
      uri = URI.create(url);
    } catch (IllegalArgumentException e) {
      throw new StartupException("--metrics must be a URL, got '" + url + "'");
    }
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    try {
      HttpResponse<String> response =
          client.send(
              HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new StartupException(
            "the metrics endpoint " + url + " answered HTTP " + response.statusCode());
      }
      return response.body();
    } catch (IOException e) {
      throw new StartupException(
          "no platform answers at "
              + url
              + " ("
              + e.getClass().getSimpleName()
              + "); is 'streamscore up' running? Pass the 'metrics:' address it printed");
    }
  }
}
