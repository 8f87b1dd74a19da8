package dev.streamscore.launcher;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code streamscore models drift NAME}: each version's drift per input and output and window, as a
 * scoring node's monitor publishes it on its metrics endpoint.
 */
@Command(
    name = "drift",
    mixinStandardHelpOptions = true,
    description = {
      "Prints a model's live drift against each version's reference profile.",
      "",
      "Per version, window and column: the window's rows, PSI, KS (numeric columns), JS and the",
      "share of defaulted values. DRIFT marks PSI over the threshold on at least the minimum rows."
    })
final class ModelsDrift implements Callable<Integer> {
  /** The alert rules' PSI threshold (deploy/monitoring/alerts.yml). */
  static final double PSI_ALERT = 0.1;

  @Parameters(paramLabel = "NAME", description = "The model name.")
  String model;

  @Option(
      names = "--metrics",
      paramLabel = "URL",
      defaultValue = "http://127.0.0.1:" + PlatformConfig.DEFAULT_METRICS_PORT + "/metrics",
      description = "A scoring node's metrics endpoint (default: ${DEFAULT-VALUE}).")
  String metricsUrl;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** One row of the table: a version's column in one window. */
  private record Key(long version, String window, String role, String column)
      implements Comparable<Key> {
    @Override
    public int compareTo(Key o) {
      int c = Long.compare(o.version, version); // newest first
      if (c == 0) {
        c = window.compareTo(o.window);
      }
      if (c == 0) {
        c = role.compareTo(o.role);
      }
      return c == 0 ? column.compareTo(o.column) : c;
    }
  }

  @Override
  public Integer call() throws InterruptedException {
    List<PrometheusText.Sample> samples = PrometheusText.parse(StatusCommand.fetch(metricsUrl));
    double minRows = Double.NaN;
    Map<Key, Map<String, Double>> rows = new TreeMap<>();
    Map<String, Double> unmonitored = new TreeMap<>();
    for (PrometheusText.Sample s : samples) {
      if (s.name().equals("streamscore_drift_min_rows")) {
        minRows = s.value();
        continue;
      }
      if (s.name().equals("streamscore_monitor_unmonitored_total")
          && model.equals(s.labels().get("model"))) {
        unmonitored.put(s.labels().getOrDefault("version", "?"), s.value());
        continue;
      }
      if (!s.name().startsWith("streamscore_drift_") || !model.equals(s.labels().get("model"))) {
        continue;
      }
      Key key =
          new Key(
              Long.parseLong(s.labels().getOrDefault("version", "0")),
              s.labels().getOrDefault("window", "?"),
              s.labels().getOrDefault("role", "?"),
              s.labels().getOrDefault("column", "?"));
      rows.computeIfAbsent(key, k -> new TreeMap<>())
          .put(s.name().substring("streamscore_drift_".length()), s.value());
    }
    PrintWriter out = spec.commandLine().getOut();
    unmonitored.forEach(
        (version, n) ->
            out.printf(
                "%s v%s: %,.0f predictions not monitored: the registry could not describe the version%n",
                model, version, n));
    if (rows.isEmpty()) {
      out.printf(
          "no drift for %s yet: it needs predictions of a version registered with a profile"
              + " (models register --profile, or the demo's training)%n",
          model);
      return 0;
    }
    out.printf(
        "%-7s %-6s %-6s %-32s %9s %8s %8s %8s %9s%n",
        "version", "window", "role", "column", "rows", "psi", "ks", "js", "defaulted");
    for (Map.Entry<Key, Map<String, Double>> e : rows.entrySet()) {
      Key k = e.getKey();
      Map<String, Double> v = e.getValue();
      double rowsIn = v.getOrDefault("rows", 0.0);
      double psi = v.getOrDefault("psi", Double.NaN);
      boolean drift = psi > PSI_ALERT && rowsIn >= minRows;
      out.printf(
          "%-7d %-6s %-6s %-32s %9.0f %8s %8s %8s %9s%s%n",
          k.version(),
          k.window(),
          k.role(),
          k.column(),
          rowsIn,
          figure(psi),
          figure(v.getOrDefault("ks", Double.NaN)),
          figure(v.getOrDefault("js", Double.NaN)),
          v.containsKey("defaulted_ratio")
              ? String.format("%.1f%%", 100 * v.get("defaulted_ratio"))
              : "-",
          drift ? "  DRIFT" : "");
    }
    out.printf(
        "DRIFT: psi > %.2f on at least %.0f rows (the alert rule's threshold)%n",
        PSI_ALERT, minRows);
    return 0;
  }

  private static String figure(double v) {
    return Double.isNaN(v) ? "-" : String.format("%.4f", v);
  }
}
