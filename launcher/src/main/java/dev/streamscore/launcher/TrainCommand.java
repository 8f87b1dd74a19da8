package dev.streamscore.launcher;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.proto.v1.DataLineage;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.SearchTrial;
import dev.streamscore.proto.v1.TrainingRun;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code streamscore train}: point-in-time training rows from the events log, split by time into
 * training, validation and held-out rows, a search over an algorithm's configurations with early
 * stopping, and the best recorded in the registry as a run with its lineage.
 */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = {
      "Searches models on point-in-time rows of the events log and records the best as a run.",
      "See the runs with 'streamscore runs'; register one with 'models register --from-run'."
    })
final class TrainCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec command;
  @Mixin KafkaOption kafka;
  @Mixin ModelsCommand.Connection connection;
  @Mixin SpecOption specOption;
  @Mixin RowsOption rows;

  @Option(
      names = "--model",
      defaultValue = "fraud",
      description = "The model the run trains (default: ${DEFAULT-VALUE}).")
  String model;

  @Option(
      names = "--split",
      defaultValue = "0.7,0.15",
      split = ",",
      description = "Shares of rows, by time, that train and validate; the rest is held out.")
  List<Double> split;

  @Option(
      names = "--algorithm",
      defaultValue = Trainer.XGBOOST,
      description =
          "logistic-regression, factorization-machine or xgboost (default: ${DEFAULT-VALUE}).")
  String algorithm;

  @Option(
      names = "--search",
      defaultValue = "grid",
      description = "grid, or random:N configurations (default: ${DEFAULT-VALUE}).")
  String search;

  @Option(
      names = "--space",
      defaultValue = "",
      description =
          "learning_rate=V,..;epochs|rounds=V,..;factors|max_depth=V,.. (default: the algorithm's).")
  String space;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description = "Seed of the search and the training (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--resume",
      description =
          "Go on with the model's interrupted search: its settings, its offsets, its trials done.")
  boolean resume;

  @Option(
      names = "--state-dir",
      paramLabel = "DIR",
      description = "Where unfinished searches are kept (default: ~/.streamscore/searches).")
  Path stateDir = Path.of(System.getProperty("user.home"), ".streamscore", "searches");

  @Override
  public Integer call() throws Exception {
    PrintWriter err = command.commandLine().getErr();
    PrintWriter out = command.commandLine().getOut();
    Path checkpointFile = SearchCheckpoint.file(stateDir, model);
    SearchCheckpoint resumed = null;
    if (resume) {
      try {
        resumed = SearchCheckpoint.read(checkpointFile).orElse(null);
      } catch (IllegalArgumentException e) {
        err.println("streamscore: " + e.getMessage());
        return 1;
      }
      if (resumed == null) {
        err.println("streamscore: no interrupted search of model '" + model + "' in " + stateDir);
        return 1;
      }
      try {
        apply(resumed.settings());
      } catch (RuntimeException e) {
        err.printf(
            "streamscore: %s is not a search checkpoint (%s); delete it to start afresh%n",
            checkpointFile, e.getMessage());
        return 1;
      }
      err.printf(
          "resuming the search in %s: %d trials done, its own settings and offsets%n",
          checkpointFile, resumed.trials().size());
    }
    Search.Space searchSpace;
    try {
      searchSpace = Search.Space.parse(space, algorithm);
      new Trainer.Config(
          algorithm, searchSpace.learningRates().get(0), 1, searchSpace.sizes().get(0), seed);
      Search.pick(searchSpace.grid(), search, seed);
      if (split.size() != 2
          || !(split.get(0) > 0 && split.get(1) > 0 && split.get(0) + split.get(1) < 1)) {
        throw new IllegalArgumentException(
            "--split must be two shares above 0 whose sum is below 1, got " + split);
      }
    } catch (IllegalArgumentException e) {
      err.println("streamscore: " + e.getMessage());
      return 2;
    }
    FeatureSpec spec = specOption.spec();
    long started = System.currentTimeMillis();
    String topic = TopicNames.events(rows.source);
    err.printf("reading %s from %s%n", topic, kafka.bootstrap);
    EventsCut cut;
    try {
      cut = EventsCut.read(kafka.bootstrap, topic, resumed == null ? null : resumed.ranges());
    } catch (org.apache.kafka.common.KafkaException | IllegalArgumentException e) {
      err.println("streamscore: cannot read " + topic + ": " + e.getMessage());
      return 1;
    }
    Split parts;
    try {
      parts = Split.of(spec, cut.log(), topic, rows.label, rows.from, rows.to, split);
    } catch (IllegalArgumentException e) {
      err.println("streamscore: " + e.getMessage());
      return 1;
    }
    List<Trainer.Row> train = parts.train();
    List<Trainer.Row> validation = parts.validation();
    List<Trainer.Row> heldOut = parts.heldOut();
    int n = parts.rows();
    long positives = parts.positives();
    err.printf(
        "%,d rows (%,d positive): %,d train, %,d validate, %,d held out; %s search of %s%n",
        n, positives, train.size(), validation.size(), heldOut.size(), search, algorithm);
    for (var part : List.of(Map.entry("validation", validation), Map.entry("held-out", heldOut))) {
      long few = part.getValue().stream().filter(Trainer.Row::fraud).count();
      if (few < Search.FEW_POSITIVES) {
        err.printf(
            "warning: the %s rows hold %d positives, fewer than %d: their AUC is uncertain by"
                + " about ±0.05 or more, so small differences are luck; widen --from/--to or"
                + " --split%n",
            part.getKey(), few, Search.FEW_POSITIVES);
      }
    }

    CooperativeStop stop = CooperativeStop.install(err::println);
    BooleanSupplier cancelled = stop::requested;
    Path dir = Files.createTempDirectory("streamscore-train");
    List<Search.Trial> before = resumed == null ? List.of() : resumed.trials();
    if (resumed == null && Files.exists(checkpointFile)) {
      err.printf("replacing the interrupted search in %s%n", checkpointFile);
    }
    java.util.concurrent.atomic.AtomicReference<SearchCheckpoint> checkpoint =
        new java.util.concurrent.atomic.AtomicReference<>(
            new SearchCheckpoint(settings(), cut.ranges(), before));
    try {
      checkpoint.get().write(checkpointFile);
      Search.Outcome outcome;
      try {
        outcome =
            Search.run(
                algorithm,
                searchSpace,
                search,
                seed,
                train,
                validation,
                heldOut,
                dir,
                err::println,
                cancelled,
                before,
                trial -> {
                  try {
                    checkpoint.updateAndGet(c -> c.with(trial)).write(checkpointFile);
                  } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                });
      } catch (IllegalArgumentException e) {
        err.println(
            "streamscore: " + checkpointFile + " does not fit its search: " + e.getMessage());
        return 1;
      } catch (RuntimeException | IOException e) {
        if (!cancelled.getAsBoolean()) {
          throw e;
        }
        // Stopped by a second signal's shutdown: the model runtime may be closed under the
        // training.
        outcome = null;
      }
      if (outcome == null) {
        err.printf(
            "streamscore: cancelled after %d trials; no run recorded; go on with: streamscore"
                + " train --resume --model %s%s%n",
            checkpoint.get().trials().size(),
            model,
            command.commandLine().getParseResult().hasMatchedOption("--state-dir")
                ? " --state-dir " + stateDir
                : "");
        return 130;
      }
      Map<String, Double> metrics = Search.metrics(outcome);
      ModelVersionSpec versionSpec =
          TrainingSet.spec(
                  outcome.model(),
                  Map.of("auc", outcome.heldOut().auc()),
                  train,
                  "training rows of run (" + topic + ")")
              .toBuilder()
              .setName(model)
              .setDescription(
                  "streamscore train: "
                      + algorithm
                      + " "
                      + outcome.trials().get(outcome.best()).parameters())
              .build();
      TrainingRun.Builder run =
          TrainingRun.newBuilder()
              .setModel(model)
              .setAlgorithm(algorithm)
              .setSearch(search + " seed " + seed)
              .putAllParameters(outcome.trials().get(outcome.best()).parameters())
              .putAllMetrics(metrics)
              .setCodeVersion("streamscore " + Main.version())
              .setStartedAtMs(started)
              .setDurationMs(System.currentTimeMillis() - started)
              .setSpec(versionSpec)
              .setLineage(
                  DataLineage.newBuilder()
                      .setTopic(topic)
                      .addAllRanges(cut.ranges())
                      .setFromTimeMs(parts.fromMs())
                      .setToTimeMs(parts.toMs())
                      .setTrainEndMs(parts.trainEndMs())
                      .setValidationEndMs(parts.validationEndMs())
                      .setSpecFingerprint(fingerprint(spec))
                      .setLabel(rows.source + "." + rows.label)
                      .setRows(n)
                      .setLabelRate((double) positives / n));
      for (int i = 0; i < outcome.trials().size(); i++) {
        Search.Trial t = outcome.trials().get(i);
        run.addTrials(
            SearchTrial.newBuilder()
                .putAllParameters(t.parameters())
                .putValidation("auc", t.validation().auc())
                .putValidation("log_loss", t.validation().logLoss())
                .setEpochs(t.epochs())
                .setBest(i == outcome.best()));
      }
      TrainingRun recorded;
      try {
        Path artifact = outcome.model().file();
        recorded = connection.with(c -> record(c, artifact, run.build()));
      } catch (StatusRuntimeException e) {
        err.println("streamscore: the registry refused the run: " + e.getStatus().getDescription());
        return 1;
      }
      out.printf(
          Locale.ROOT,
          "run %s: %s %s, held-out AUC %.4f ± %.4f (95%%, %d positives), PR-AUC %.4f, log loss"
              + " %.4f on %,d rows%n",
          recorded.getId(),
          algorithm,
          recorded.getParametersMap(),
          outcome.heldOut().auc(),
          1.96 * metrics.getOrDefault("heldout_auc_se", Double.NaN),
          outcome.heldOut().positives(),
          outcome.heldOutPrAuc(),
          outcome.heldOut().logLoss(),
          heldOut.size());
      Trainer.Config baseline = Trainer.Config.baseline(seed);
      out.printf(
          Locale.ROOT,
          "baseline (%s, learning rate %s, %d epochs): held-out AUC %.4f%n",
          baseline.algorithm().replace('-', ' '),
          baseline.learningRate(),
          baseline.epochs(),
          outcome.baselineHeldOut().auc());
      if (outcome.baselineRanksFirst()) {
        err.printf(
            Locale.ROOT,
            "warning: the baseline ranks above the search's best on validation (log loss %.4f"
                + " against %.4f); to record it as a run: --algorithm %s --space"
                + " 'learning_rate=%s;epochs=%d'%n",
            outcome.baselineValidation().logLoss(),
            outcome.trials().get(outcome.best()).validation().logLoss(),
            baseline.algorithm(),
            baseline.learningRate(),
            baseline.epochs());
      }
      out.printf("register it: streamscore models register --from-run %s%n", recorded.getId());
      Files.deleteIfExists(checkpointFile);
      return 0;
    } finally {
      stop.close();
      try (var files = Files.list(dir)) {
        for (Path f : files.toList()) {
          Files.deleteIfExists(f);
        }
      }
      Files.deleteIfExists(dir);
    }
  }

  /** The options that decide what a search reads and tries, as a checkpoint keeps them. */
  private Map<String, String> settings() {
    Map<String, String> s = new java.util.LinkedHashMap<>();
    s.put("algorithm", algorithm);
    s.put("space", space);
    s.put("search", search);
    s.put("seed", Long.toString(seed));
    s.put("split", split.get(0) + "," + split.get(1));
    s.put("source", rows.source);
    s.put("label", rows.label);
    s.put("from", rows.from == null ? "" : rows.from.toString());
    s.put("to", rows.to == null ? "" : rows.to.toString());
    return s;
  }

  /** Takes a checkpoint's settings as this command's. */
  private void apply(Map<String, String> s) {
    algorithm = s.getOrDefault("algorithm", algorithm);
    space = s.getOrDefault("space", space);
    search = s.getOrDefault("search", search);
    seed = Long.parseLong(s.getOrDefault("seed", Long.toString(seed)));
    split =
        java.util.Arrays.stream(s.getOrDefault("split", "0.7,0.15").split(","))
            .map(Double::valueOf)
            .toList();
    rows.source = s.getOrDefault("source", rows.source);
    rows.label = s.getOrDefault("label", rows.label);
    rows.from = s.getOrDefault("from", "").isEmpty() ? null : Instant.parse(s.get("from"));
    rows.to = s.getOrDefault("to", "").isEmpty() ? null : Instant.parse(s.get("to"));
  }

  private static TrainingRun record(
      dev.streamscore.modelsync.RegistryClient client, Path artifact, TrainingRun run) {
    try {
      return client.within(Duration.ofMinutes(2)).recordRun(artifact, run);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * The indexes of {@code log}'s events in {@code [from, to)}, in event-time order (log order among
   * equals).
   *
   * @throws IllegalArgumentException in one line: fewer than 100, or none carrying {@code label}
   */
  static List<Integer> inRange(
      List<Event> log, String topic, String label, Instant from, Instant to) {
    List<Integer> chosen = new ArrayList<>();
    boolean labelSeen = false;
    for (int i = 0; i < log.size(); i++) {
      Event e = log.get(i);
      long t = e.getEventTimeMs();
      if ((from == null || t >= from.toEpochMilli()) && (to == null || t < to.toEpochMilli())) {
        chosen.add(i);
        labelSeen |= e.getFieldsMap().containsKey(label);
      }
    }
    chosen.sort(Comparator.comparingLong(i -> log.get(i).getEventTimeMs()));
    String range = (from == null ? "the start" : from) + " and " + (to == null ? "the end" : to);
    if (chosen.size() < 100) {
      throw new IllegalArgumentException(
          chosen.size()
              + " events of "
              + topic
              + " between "
              + range
              + "; at least 100 are needed");
    }
    if (!labelSeen) {
      throw new IllegalArgumentException(
          "no event of " + topic + " between " + range + " has the field '" + label + "'");
    }
    return chosen;
  }

  /**
   * Rows of an events log split by time: the log's events in {@code [from, to)}, in event-time
   * order (log order among equals), the first {@code shares[0]} training, the next {@code
   * shares[1]} validating, the rest held out. Every event of the log feeds the features of those
   * after it, in range or not.
   */
  record Split(
      List<Trainer.Row> train,
      List<Trainer.Row> validation,
      List<Trainer.Row> heldOut,
      long positives,
      long fromMs,
      long toMs,
      long trainEndMs,
      long validationEndMs) {
    int rows() {
      return train.size() + validation.size() + heldOut.size();
    }

    /**
     * @throws IllegalArgumentException in one line: too few events in range, no event carrying the
     *     label, or a part without a positive label
     */
    static Split of(
        FeatureSpec spec,
        List<Event> log,
        String topic,
        String label,
        Instant from,
        Instant to,
        List<Double> shares) {
      List<Trainer.Row> all = TrainingSet.rows(spec, log, 0, log.size(), label);
      List<Integer> chosen = inRange(log, topic, label, from, to);
      int n = chosen.size();
      int trainEnd = (int) (n * shares.get(0));
      int validationEnd = (int) (n * (shares.get(0) + shares.get(1)));
      List<Trainer.Row> train = new ArrayList<>();
      List<Trainer.Row> validation = new ArrayList<>();
      List<Trainer.Row> heldOut = new ArrayList<>();
      long positives = 0;
      for (int k = 0; k < n; k++) {
        Trainer.Row row = all.get(chosen.get(k));
        positives += row.fraud() ? 1 : 0;
        (k < trainEnd ? train : k < validationEnd ? validation : heldOut).add(row);
      }
      for (var part :
          List.of(
              Map.entry("training", train),
              Map.entry("validation", validation),
              Map.entry("held-out", heldOut))) {
        if (part.getValue().stream().noneMatch(Trainer.Row::fraud)) {
          throw new IllegalArgumentException(
              String.format(
                  "the label '%s' is never true in the %s rows (%,d rows); nothing to learn or"
                      + " measure",
                  label, part.getKey(), part.getValue().size()));
        }
      }
      return new Split(
          train,
          validation,
          heldOut,
          positives,
          log.get(chosen.get(0)).getEventTimeMs(),
          log.get(chosen.get(n - 1)).getEventTimeMs() + 1,
          log.get(chosen.get(trainEnd)).getEventTimeMs(),
          log.get(chosen.get(validationEnd)).getEventTimeMs());
    }
  }

  /** The feature view's fingerprint the rows were computed with. */
  static String fingerprint(FeatureSpec spec) {
    var view = spec.views().get("user_txn");
    return view == null ? "" : "user_txn:" + view.fingerprint(spec.sources().get(view.source()));
  }
}
