package dev.streamscore.launcher;

import dev.streamscore.scoring.monitor.ColumnDrift;
import dev.streamscore.scoring.monitor.PredictionMonitor;
import dev.streamscore.scoring.monitor.Role;
import dev.streamscore.scoring.monitor.VersionQuality;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/** One-line summaries of a monitor's figures, for reports such as the demo's. */
final class MonitorSummary {
  private MonitorSummary() {}

  /** Per version: live AUC and log loss in {@code window}, on how many labelled predictions. */
  static String quality(PredictionMonitor monitor, String model, String window) {
    List<String> parts = new ArrayList<>();
    for (VersionQuality q : monitor.quality(model)) {
      if (q.window().equals(window) && q.quality().labelled() > 0) {
        parts.add(
            String.format(
                Locale.ROOT,
                "v%d AUC %.3f, log loss %.3f on %,d labelled",
                q.version(),
                q.quality().auc(),
                q.quality().logLoss(),
                q.quality().labelled()));
      }
    }
    return parts.isEmpty() ? "no labelled predictions yet" : String.join("; ", parts);
  }

  /** Per version: the input that drifted most in {@code window}, and its PSI. */
  static String drift(PredictionMonitor monitor, String model, String window) {
    List<String> parts = new ArrayList<>();
    monitor.drift(model).stream()
        .filter(d -> d.window().equals(window) && d.role() == Role.INPUT && d.rows() > 0)
        .collect(java.util.stream.Collectors.groupingBy(ColumnDrift::version))
        .forEach(
            (version, columns) -> {
              ColumnDrift top =
                  columns.stream().max(Comparator.comparingDouble(ColumnDrift::psi)).orElseThrow();
              parts.add(
                  String.format(
                      Locale.ROOT,
                      "v%d largest PSI %.3f (%s, %,d rows)",
                      version,
                      top.psi(),
                      top.name(),
                      top.rows()));
            });
    return parts.isEmpty() ? "no profiled predictions yet" : String.join("; ", parts);
  }
}
