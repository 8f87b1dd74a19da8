package dev.streamscore.launcher;

import dev.streamscore.proto.v1.TrainingRun;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Training runs side by side, as {@code runs compare} prints them and the console shows them: one
 * row per figure (algorithm, every parameter and metric any of the runs has, the data), one cell
 * per run; "-" where a run lacks the figure.
 */
final class RunComparison {
  private RunComparison() {}

  /** The rows: each is the figure's name, then one cell per run in the order given. */
  static List<List<String>> rows(List<TrainingRun> runs) {
    List<List<String>> rows = new ArrayList<>();
    add(rows, "algorithm", runs, TrainingRun::getAlgorithm);
    TreeSet<String> parameters = new TreeSet<>();
    runs.forEach(r -> parameters.addAll(r.getParametersMap().keySet()));
    for (String p : parameters) {
      add(rows, p, runs, r -> r.getParametersOrDefault(p, "-"));
    }
    TreeSet<String> metrics = new TreeSet<>();
    runs.forEach(r -> metrics.addAll(r.getMetricsMap().keySet()));
    for (String m : metrics) {
      add(rows, m, runs, r -> metric(r, m));
    }
    add(rows, "rows", runs, r -> String.format(Locale.ROOT, "%,d", r.getLineage().getRows()));
    add(
        rows,
        "label rate",
        runs,
        r -> String.format(Locale.ROOT, "%.4f", r.getLineage().getLabelRate()));
    add(rows, "trials", runs, r -> Integer.toString(r.getTrialsCount()));
    add(rows, "spec", runs, r -> r.getLineage().getSpecFingerprint());
    return rows;
  }

  /** A metric to 4 places, or "-". */
  static String metric(TrainingRun r, String name) {
    Double v = r.getMetricsMap().get(name);
    return v == null ? "-" : String.format(Locale.ROOT, "%.4f", v);
  }

  private static void add(
      List<List<String>> rows,
      String name,
      List<TrainingRun> runs,
      Function<TrainingRun, String> f) {
    List<String> row = new ArrayList<>();
    row.add(name);
    runs.forEach(r -> row.add(f.apply(r)));
    rows.add(row);
  }
}
