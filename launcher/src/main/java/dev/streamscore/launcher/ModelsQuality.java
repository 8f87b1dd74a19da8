package dev.streamscore.launcher;

import java.io.PrintWriter;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code streamscore models quality NAME}: each version's live quality from its labelled
 * predictions, as a monitor publishes it: the canary and prod side by side on the same traffic.
 */
@Command(
    name = "quality",
    mixinStandardHelpOptions = true,
    description = {
      "Prints a model's live quality per version and window, once labels have arrived.",
      "",
      "Labelled predictions, positives, AUC (beside the registered one), log loss, precision and",
      "recall at the threshold, expected calibration error, and predictions never labelled."
    })
final class ModelsQuality implements Callable<Integer> {
  @Parameters(paramLabel = "NAME", description = "The model name.")
  String model;

  @Option(
      names = "--metrics",
      paramLabel = "URL",
      defaultValue = "http://127.0.0.1:" + PlatformConfig.DEFAULT_METRICS_PORT + "/metrics",
      description = "A scoring node's or monitor's metrics endpoint (default: ${DEFAULT-VALUE}).")
  String metricsUrl;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws InterruptedException {
    Map<String, Map<String, Double>> rows = new TreeMap<>();
    Map<String, Double> reference = new TreeMap<>();
    Map<String, Double> unlabelled = new TreeMap<>();
    for (PrometheusText.Sample s : PrometheusText.parse(StatusCommand.fetch(metricsUrl))) {
      if (!s.name().startsWith("streamscore_quality_") || !model.equals(s.labels().get("model"))) {
        continue;
      }
      String version = s.labels().getOrDefault("version", "?");
      String metric = s.name().substring("streamscore_quality_".length());
      switch (metric) {
        case "reference_auc" -> reference.put(version, s.value());
        case "unlabelled_total" -> unlabelled.put(version, s.value());
        default ->
            rows.computeIfAbsent(
                    String.format("%6s %s", version, s.labels().getOrDefault("window", "?")),
                    k -> new TreeMap<>())
                .put(metric, s.value());
      }
    }
    PrintWriter out = spec.commandLine().getOut();
    if (rows.isEmpty()) {
      out.printf(
          "no live quality for %s yet: it needs labels (labels.<source>, or up --label-field)"
              + " joined with its predictions%n",
          model);
      return 0;
    }
    out.printf(
        "%-7s %-6s %9s %9s %7s %7s %8s %9s %7s %7s %11s%n",
        "version",
        "window",
        "labelled",
        "positives",
        "auc",
        "offline",
        "log-loss",
        "precision",
        "recall",
        "ece",
        "unlabelled");
    rows.forEach(
        (key, m) -> {
          String version = key.substring(0, 6).strip();
          out.printf(
              "%-7s %-6s %9.0f %9.0f %7s %7s %8s %9s %7s %7s %11.0f%n",
              version,
              key.substring(7),
              m.getOrDefault("labelled", 0.0),
              m.getOrDefault("positives", 0.0),
              figure(m.get("auc")),
              figure(reference.get(version)),
              figure(m.get("log_loss")),
              figure(m.get("precision")),
              figure(m.get("recall")),
              figure(m.get("calibration_error")),
              unlabelled.getOrDefault(version, 0.0));
        });
    return 0;
  }

  private static String figure(Double v) {
    return v == null || v.isNaN() ? "-" : String.format("%.3f", v);
  }
}
