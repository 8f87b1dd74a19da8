package dev.streamscore.launcher;

import dev.streamscore.proto.v1.PartitionRange;
import dev.streamscore.proto.v1.SearchTrial;
import dev.streamscore.proto.v1.TrainingRun;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code streamscore runs list|show|compare}: training runs recorded in the registry. */
@Command(
    name = "runs",
    mixinStandardHelpOptions = true,
    description = "Lists, shows and compares the training runs recorded in the registry.",
    subcommands = {RunsCommand.ListRuns.class, RunsCommand.Show.class, RunsCommand.Compare.class})
final class RunsCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "One line per run.")
  static final class ListRuns implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin ModelsCommand.Connection connection;

    @Option(names = "--model", defaultValue = "", description = "Only this model's runs.")
    String model;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      List<TrainingRun> runs = connection.with(c -> c.runs(model));
      out.printf(
          "%-16s  %-8s  %-22s  %-20s  %9s  %9s  %8s  %s%n",
          "RUN", "MODEL", "ALGORITHM", "RECORDED", "HELD AUC", "PR-AUC", "ROWS", "BY");
      for (TrainingRun r : runs) {
        out.printf(
            "%-16s  %-8s  %-22s  %-20s  %9s  %9s  %8d  %s%n",
            r.getId(),
            r.getModel(),
            r.getAlgorithm(),
            Instant.ofEpochMilli(r.getRecordedAtMs()).toString().substring(0, 19),
            RunComparison.metric(r, "heldout_auc"),
            RunComparison.metric(r, "heldout_pr_auc"),
            r.getLineage().getRows(),
            r.getBy());
      }
      return 0;
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "A run: parameters, figures, lineage and every trial.")
  static final class Show implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin ModelsCommand.Connection connection;

    @Parameters(paramLabel = "RUN", description = "The run's id (run-...).")
    String id;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      TrainingRun r = connection.with(c -> c.run(id));
      out.printf("run        %s of %s, by %s%n", r.getId(), r.getModel(), r.getBy());
      out.printf("algorithm  %s, search %s%n", r.getAlgorithm(), r.getSearch());
      out.printf("parameters %s%n", r.getParametersMap());
      out.printf(
          "started    %s, took %.1f s; %s%n",
          Instant.ofEpochMilli(r.getStartedAtMs()), r.getDurationMs() / 1000.0, r.getCodeVersion());
      for (Map.Entry<String, Double> m : new java.util.TreeMap<>(r.getMetricsMap()).entrySet()) {
        out.printf(Locale.ROOT, "metric     %-26s %.4f%n", m.getKey(), m.getValue());
      }
      var l = r.getLineage();
      List<String> ranges = new ArrayList<>();
      for (PartitionRange p : l.getRangesList()) {
        ranges.add(p.getPartition() + ":[" + p.getFromOffset() + "," + p.getToOffset() + ")");
      }
      out.printf("data       %s offsets %s%n", l.getTopic(), String.join(" ", ranges));
      out.printf(
          "           event time [%s, %s), train before %s, validate before %s%n",
          Instant.ofEpochMilli(l.getFromTimeMs()),
          Instant.ofEpochMilli(l.getToTimeMs()),
          Instant.ofEpochMilli(l.getTrainEndMs()),
          Instant.ofEpochMilli(l.getValidationEndMs()));
      out.printf(
          Locale.ROOT,
          "           %,d rows, label %s positive in %.2f%%, spec %s%n",
          l.getRows(),
          l.getLabel(),
          100 * l.getLabelRate(),
          l.getSpecFingerprint());
      out.printf("artifact   sha256 %s, %,d bytes%n", r.getSha256(), r.getSizeBytes());
      out.printf("trials     %d%n", r.getTrialsCount());
      for (SearchTrial t : r.getTrialsList()) {
        out.printf(
            Locale.ROOT,
            "  %s %-60s validation AUC %.4f, log loss %.4f%n",
            t.getBest() ? "*" : " ",
            t.getParametersMap(),
            t.getValidationOrDefault("auc", Double.NaN),
            t.getValidationOrDefault("log_loss", Double.NaN));
      }
      return 0;
    }
  }

  @Command(
      name = "compare",
      mixinStandardHelpOptions = true,
      description = "Runs side by side: their parameters, figures and data.")
  static final class Compare implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin ModelsCommand.Connection connection;

    @Parameters(paramLabel = "RUN", arity = "2..*", description = "Two or more run ids.")
    List<String> ids;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      List<TrainingRun> runs = new ArrayList<>();
      for (String id : ids) {
        runs.add(connection.with(c -> c.run(id)));
      }
      StringBuilder head = new StringBuilder(String.format("%-28s", ""));
      runs.forEach(r -> head.append(String.format("  %-22s", r.getId())));
      out.println(head);
      for (List<String> row : RunComparison.rows(runs)) {
        StringBuilder line = new StringBuilder(String.format("%-28s", row.get(0)));
        row.subList(1, row.size()).forEach(cell -> line.append(String.format("  %-22s", cell)));
        out.println(line.toString().stripTrailing());
      }
      return 0;
    }
  }
}
