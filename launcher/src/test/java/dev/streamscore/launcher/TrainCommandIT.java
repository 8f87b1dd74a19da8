package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.ingest.generator.GeneratedEvent;
import dev.streamscore.ingest.generator.GeneratorConfig;
import dev.streamscore.ingest.generator.PaymentsGenerator;
import dev.streamscore.kafka.TopicReader;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.PythonTools;
import dev.streamscore.proto.v1.TrainingRun;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code streamscore train} on the demo's data in a running platform: a search of 8 configurations
 * records a run, its held-out AUC beside the demo's v2 recipe's on the same rows; the same seed
 * picks the same best; runs are listed, shown and compared; a version registered from a run leads
 * back to it and its offsets; bad input is one line and records nothing.
 */
class TrainCommandIT {
  private static final Logger LOG = LoggerFactory.getLogger(TrainCommandIT.class);
  private static final Pattern RUN = Pattern.compile("^run (run-[0-9a-f]{12}):", Pattern.MULTILINE);

  @TempDir static Path dir;
  private static EmbeddedKafka kafka;
  private static Platform platform;
  private static String k;
  private static String registry;
  private static PaymentsGenerator generator;
  private static long expected;

  private record Result(int code, String out, String err) {}

  private static Result cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Result(code, out.toString(), err.toString());
  }

  private static String runId(Result r) {
    Matcher m = RUN.matcher(r.out());
    assertThat(m.find()).as(r.out() + r.err()).isTrue();
    return m.group(1);
  }

  @BeforeAll
  static void startWithTheDemosPayments() throws Exception {
    kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
    platform =
        Platform.start(
            PlatformConfig.anyPorts(Optional.of(kafka.bootstrapServers()), Optional.of(dir)),
            Clock.systemUTC());
    k = kafka.bootstrapServers();
    registry = platform.endpoints().registry();
    // The demo's stream: 20,000 payments of its generator, 100 ms apart in event time (the same
    // rows on every run).
    long start = System.currentTimeMillis() - 3_600_000L;
    java.util.concurrent.atomic.AtomicLong ticks = new java.util.concurrent.atomic.AtomicLong();
    java.time.InstantSource steps =
        () -> java.time.Instant.ofEpochMilli(start + 100 * ticks.getAndIncrement());
    generator =
        new PaymentsGenerator(
            GeneratorConfig.defaults(42)
                .withPopulation(3_000, 1_000)
                .withFraudRate(0.004)
                .withRates(0.005, 0.002, 0.01),
            steps);
    long valid = 0;
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(
            kafka.clientProperties(), new StringSerializer(), new ByteArraySerializer())) {
      for (int i = 0; i < 20_000; i++) {
        GeneratedEvent e = generator.next();
        valid += e.kind() == GeneratedEvent.Kind.INVALID ? 0 : 1;
        producer.send(new ProducerRecord<>("raw.payments", e.key(), e.json()));
      }
    }
    expected = valid;
    await()
        .atMost(Duration.ofSeconds(90))
        .until(
            () ->
                TopicReader.readAll(
                        kafka.clientProperties(),
                        "events.payments",
                        Duration.ofSeconds(30),
                        r -> {})
                    >= expected);
  }

  @AfterAll
  static void stop() {
    if (platform != null) {
      platform.close();
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  @Test
  void aSearchRecordsARunThatIsListedComparedAndRegisteredWithItsLineage() throws Exception {
    {
      // The default search: XGBoost over a grid of 9 configurations.
      long started = System.nanoTime();
      Result first = cli("train", "--kafka", k, "--registry", registry);
      double seconds = (System.nanoTime() - started) / 1e9;
      assertThat(first.code()).as(first.err()).isZero();
      assertThat(first.err()).contains("trial 9/9");
      String run1 = runId(first);
      LOG.info(
          "an XGBoost search of 9 configurations took {} s: {}",
          String.format("%.1f", seconds),
          first.out().strip());

      started = System.nanoTime();
      // The linear search's figures for the comparison (its full grid of 8: docs/experiments.md);
      // three configurations keep mvn verify inside its budget.
      Result linear =
          cli(
              "train",
              "--kafka",
              k,
              "--registry",
              registry,
              "--algorithm",
              "logistic-regression",
              "--search",
              "random:3");
      double linearSeconds = (System.nanoTime() - started) / 1e9;
      assertThat(linear.code()).as(linear.err()).isZero();
      assertThat(linear.err()).contains("trial 3/3");
      String runLinear = runId(linear);
      LOG.info(
          "a logistic regression search of 3 configurations took {} s: {}",
          String.format("%.1f", linearSeconds),
          linear.out().strip());

      String[] fmArgs = {
        "train",
        "--kafka",
        k,
        "--registry",
        registry,
        "--algorithm",
        "factorization-machine",
        "--search",
        "random:2",
        "--seed",
        "3"
      };
      Result fm = cli(fmArgs);
      assertThat(fm.code()).as(fm.err()).isZero();
      String run3 = runId(fm);
      Result again = cli(fmArgs);
      String[] treeArgs = {
        "train",
        "--kafka",
        k,
        "--registry",
        registry,
        "--search",
        "random:2",
        "--seed",
        "5",
        "--space",
        "rounds=20,40;max_depth=3,5,7"
      };
      Result trees = cli(treeArgs);
      Result treesAgain = cli(treeArgs);

      ManagedChannel channel = NettyChannelBuilder.forTarget(registry).usePlaintext().build();
      try {
        RegistryClient client = new RegistryClient(channel, Optional.empty(), "test");
        TrainingRun r1 = client.run(run1);
        TrainingRun r3 = client.run(run3);
        TrainingRun r4 = client.run(runId(again));
        // The same seed, the same data: the same configurations tried, the same best and figures.
        assertThat(r4.getTrialsList()).isEqualTo(r3.getTrialsList());
        assertThat(r4.getParametersMap()).isEqualTo(r3.getParametersMap());
        assertThat(r4.getMetricsMap()).isEqualTo(r3.getMetricsMap());
        TrainingRun t1 = client.run(runId(trees));
        TrainingRun t2 = client.run(runId(treesAgain));
        assertThat(t2.getTrialsList()).isEqualTo(t1.getTrialsList());
        assertThat(t2.getParametersMap()).isEqualTo(t1.getParametersMap());
        assertThat(t2.getMetricsMap()).isEqualTo(t1.getMetricsMap());
        assertThat(r1.getTrialsCount()).isEqualTo(9);
        assertThat(r1.getTrialsList().stream().filter(t -> t.getBest()).count()).isEqualTo(1);
        assertThat(r1.getLineage().getRows()).isEqualTo(expected);
        long offsets =
            r1.getLineage().getRangesList().stream()
                .mapToLong(p -> p.getToOffset() - p.getFromOffset())
                .sum();
        assertThat(offsets).isGreaterThanOrEqualTo(expected);

        // The demo's v2 recipe (logistic regression, 10 epochs, on every row before the held-out
        // ones) on the same split.
        FeatureSpec spec = FeatureSpec.shippedPayments();
        List<dev.streamscore.proto.v1.Event> log = EventsCut.read(k, "events.payments").log();
        TrainCommand.Split split =
            TrainCommand.Split.of(
                spec, log, "events.payments", "is_fraud", null, null, List.of(0.7, 0.15));
        List<Trainer.Row> before = new ArrayList<>(split.train());
        before.addAll(split.validation());
        double demoV2 =
            TrainingSet.auc(Trainer.train(before, 10, 2, dir.resolve("v2.onnx")), split.heldOut());
        // The run's own baseline is that recipe with the run's seed, on the same rows.
        assertThat(first.out()).contains("baseline (logistic regression, learning rate 0.5");
        assertThat(r1.getMetricsOrThrow("baseline_heldout_auc"))
            .isEqualTo(
                TrainingSet.auc(
                    Trainer.train(before, 10, 1, dir.resolve("baseline.onnx")), split.heldOut()));
        double best = r1.getMetricsOrThrow("heldout_auc");
        double bestLinear = client.run(runLinear).getMetricsOrThrow("heldout_auc");
        LOG.info(
            "held-out AUC: XGBoost search {}, logistic regression search {}, the demo's v2 recipe {}",
            best,
            bestLinear,
            demoV2);
        // Issue 22: the search's best at least the demo's v2. The linear search alone misses it by
        // about 0.01 on these rows (its choice rests on ~120 validation positives).
        assertThat(best).isGreaterThanOrEqualTo(demoV2);
        assertThat(seconds).isLessThan(120);
        assertThat(bestLinear).isGreaterThan(0.9);

        // Listed, shown, compared.
        Result list = cli("runs", "list", "--registry", registry);
        assertThat(list.out()).contains(run1, run3, "factorization-machine", "xgboost");
        Result show = cli("runs", "show", run1, "--registry", registry);
        assertThat(show.out())
            .contains("data       events.payments offsets 0:[0,", "trials     9", "heldout_pr_auc");
        Result compare = cli("runs", "compare", run1, run3, "--registry", registry);
        assertThat(compare.code()).isZero();
        assertThat(compare.out())
            .contains("heldout_auc", "learning_rate", "factors", "max_depth", run1, run3);

        // A version from the run names it; the run names its offsets.
        Result registered = cli("models", "register", "--from-run", run1, "--registry", registry);
        assertThat(registered.out()).contains("registered fraud version 1 from run " + run1);
        ModelVersion v = client.model("fraud").getVersions(0);
        assertThat(client.run(v.getSpec().getRunId()).getLineage()).isEqualTo(r1.getLineage());
        assertThat(v.getSpec().getProfile().getInputsCount()).isEqualTo(9);

        // The rows as a CSV file with a manifest; cut again from the manifest after more events
        // arrived: byte for byte the same file.
        Path csv = dir.resolve("rows.csv");
        Result cutOnce = cli("training-data", "--kafka", k, "--out", csv.toString());
        assertThat(cutOnce.code()).as(cutOnce.err()).isZero();
        List<String> csvLines = java.nio.file.Files.readAllLines(csv);
        assertThat(csvLines.get(0))
            .isEqualTo(
                "event_id,entity_id,event_time_ms,user_txn:txn_count_10m,user_txn:txn_count_1h,"
                    + "user_txn:amount_mean_1h,user_txn:amount_max_10m,user_txn:countries_1h,"
                    + "user_txn:merchants_1h,user_txn:last_device,amount,card_present,is_fraud");
        assertThat(csvLines).hasSize((int) expected + 1);
        try (KafkaProducer<String, byte[]> producer =
            new KafkaProducer<>(
                kafka.clientProperties(), new StringSerializer(), new ByteArraySerializer())) {
          for (int i = 0; i < 500; i++) {
            GeneratedEvent e = generator.next();
            producer.send(new ProducerRecord<>("raw.payments", e.key(), e.json()));
          }
        }
        Path manifest = dir.resolve("rows.csv.manifest.json");
        Path again2 = dir.resolve("again.csv");
        Result recut =
            cli(
                "training-data",
                "--kafka",
                k,
                "--from-manifest",
                manifest.toString(),
                "--out",
                again2.toString());
        assertThat(recut.code()).as(recut.err()).isZero();
        assertThat(java.nio.file.Files.mismatch(csv, again2)).isEqualTo(-1L);
        String tampered =
            java.nio.file.Files.readString(manifest)
                .replaceAll("\"sha256\": \"[0-9a-f]+\"", "\"sha256\": \"00\"");
        java.nio.file.Files.writeString(dir.resolve("bad.manifest.json"), tampered);
        Result differs =
            cli(
                "training-data",
                "--kafka",
                k,
                "--from-manifest",
                dir.resolve("bad.manifest.json").toString(),
                "--out",
                dir.resolve("bad.csv").toString());
        assertThat(differs.err()).startsWith("streamscore: the cut differs from the manifest's");
        assertThat(dir.resolve("bad.csv")).doesNotExist();
        assertThat(cli("training-data", "--kafka", k, "--out", "x.json").err())
            .isEqualTo("streamscore: --out must name a .csv or .parquet file, got x.json\n");
        assertThat(
                cli(
                        "training-data",
                        "--kafka",
                        k,
                        "--from-manifest",
                        manifest.toString(),
                        "--out",
                        dir.resolve("x.parquet").toString())
                    .err())
            .isEqualTo(
                "streamscore: the manifest describes a csv file; --out names a parquet one\n");

        // The same as Parquet, cut again from its manifest: the same bytes.
        Path parquet = dir.resolve("rows.parquet");
        Result parquetOnce = cli("training-data", "--kafka", k, "--out", parquet.toString());
        assertThat(parquetOnce.code()).as(parquetOnce.err()).isZero();
        Path parquetAgain = dir.resolve("again.parquet");
        Result parquetRecut =
            cli(
                "training-data",
                "--kafka",
                k,
                "--from-manifest",
                dir.resolve("rows.parquet.manifest.json").toString(),
                "--out",
                parquetAgain.toString());
        assertThat(parquetRecut.code()).as(parquetRecut.err()).isZero();
        assertThat(java.nio.file.Files.mismatch(parquet, parquetAgain)).isEqualTo(-1L);
        assertThat(java.nio.file.Files.readString(dir.resolve("rows.parquet.manifest.json")))
            .contains("\"format\": \"parquet\"");

        // Bad input: one line each, and no run recorded.
        int runs = client.runs("").size();
        for (var bad :
            Map.of(
                    List.of("--search", "nonsense"), "--search must be grid or random:N",
                    List.of("--space", "learning_rate=abc"),
                        "cannot read the values of learning_rate",
                    List.of("--label", "nope"), "has the field 'nope'",
                    List.of("--from", "2999-01-01T00:00:00Z"), "at least 100 are needed")
                .entrySet()) {
          List<String> args =
              new ArrayList<>(List.of("train", "--kafka", k, "--registry", registry));
          args.addAll(bad.getKey());
          Result r = cli(args.toArray(String[]::new));
          assertThat(r.code()).as(r.err()).isNotZero();
          List<String> lines = r.err().strip().lines().toList();
          assertThat(lines.get(lines.size() - 1))
              .startsWith("streamscore: ")
              .contains(bad.getValue());
          assertThat(r.err()).doesNotContain("Exception");
        }
        assertThat(client.runs("")).hasSize(runs);

        // Sparse labels: the log's first 3,000 events leave too few positives in the validation
        // and held-out rows (under 20 each) to rank or measure finely; the run says so, and still
        // records its figures with their wider uncertainty.
        long[] times =
            log.stream()
                .mapToLong(dev.streamscore.proto.v1.Event::getEventTimeMs)
                .sorted()
                .toArray();
        Result sparse =
            cli(
                "train",
                "--kafka",
                k,
                "--registry",
                registry,
                "--algorithm",
                "logistic-regression",
                "--search",
                "random:2",
                "--from",
                java.time.Instant.ofEpochMilli(times[0]).toString(),
                "--to",
                java.time.Instant.ofEpochMilli(times[3_000]).toString());
        assertThat(sparse.code()).as(sparse.err()).isZero();
        assertThat(sparse.err())
            .contains(
                "warning: the validation rows hold ",
                "warning: the held-out rows hold ",
                "fewer than 30");
        TrainingRun small = client.run(runId(sparse));
        assertThat(small.getMetricsOrThrow("validation_positives")).isLessThan(30);
        assertThat(small.getMetricsOrThrow("heldout_auc_se"))
            .isGreaterThan(2 * r1.getMetricsOrThrow("heldout_auc_se"));
        assertThat(sparse.out())
            .containsPattern("held-out AUC [0-9.]+ ± [0-9.]+ \\(95%, [0-9]+ positives\\)");
        assertThat(first.err()).doesNotContain("warning: the validation rows");
        Result unknown = cli("runs", "show", "run-000000000000", "--registry", registry);
        assertThat(unknown.err().strip())
            .isEqualTo("streamscore: NOT_FOUND: no run with id 'run-000000000000'");
      } finally {
        channel.shutdownNow();
      }
    }
  }

  /**
   * Ctrl-C stops a search after the current training and keeps what it finished; {@code train
   * --resume} reads the same offsets with the same settings, tries only what is left, and records
   * the run an uninterrupted search records.
   */
  @Test
  void anInterruptedSearchResumesWhereItStoppedAndRecordsWhatAnUninterruptedOneDoes()
      throws Exception {
    List<String> args =
        List.of(
            "train",
            "--kafka",
            k,
            "--registry",
            registry,
            "--algorithm",
            "logistic-regression",
            "--search",
            "random:8",
            "--seed",
            "9",
            "--model",
            "fraud_resumed");
    List<String> whole = new ArrayList<>(args);
    whole.addAll(List.of("--state-dir", dir.resolve("whole").toString()));
    Result uninterrupted = cli(whole.toArray(String[]::new));
    assertThat(uninterrupted.code()).as(uninterrupted.err()).isZero();

    Path state = dir.resolve("searches");
    List<String> interruptible = new ArrayList<>(args);
    interruptible.addAll(List.of("--state-dir", state.toString()));
    Launcher launcher = new Launcher();
    try {
      Launcher.Running first = launcher.start(interruptible.toArray(String[]::new));
      await()
          .atMost(Duration.ofSeconds(120))
          .until(() -> first.stderr().stream().anyMatch(l -> l.startsWith("trial 1/8 ")));
      StreamscoreUpIT.Tools.run("", "kill", "-INT", Long.toString(first.process.pid()));
      assertThat(first.awaitExit(Duration.ofSeconds(90))).as("%s", first.stderr()).isEqualTo(130);
      assertThat(first.stderr())
          .anyMatch(
              l ->
                  l.startsWith("streamscore: cancelled after ")
                      && l.endsWith(
                          "go on with: streamscore train --resume --model fraud_resumed"
                              + " --state-dir "
                              + state));
      assertThat(first.stderr()).noneMatch(l -> l.startsWith("trial 8/8"));
      // Stopped by the command itself at a safe point, not by the JVM's shutdown under a training.
      assertThat(first.stderr())
          .contains("stopping after the current training; SIGINT again stops at once");
    } finally {
      launcher.killAll();
    }
    Path checkpoint = state.resolve("fraud_resumed.search");
    assertThat(checkpoint).exists();

    Result resumed =
        cli(
            "train",
            "--kafka",
            k,
            "--registry",
            registry,
            "--resume",
            "--model",
            "fraud_resumed",
            "--state-dir",
            state.toString());
    assertThat(resumed.code()).as(resumed.err()).isZero();
    assertThat(resumed.err()).contains("resuming the search in ", "(done before)", "trial 8/8");
    assertThat(checkpoint).doesNotExist();
    ManagedChannel channel = NettyChannelBuilder.forTarget(registry).usePlaintext().build();
    try {
      RegistryClient client = new RegistryClient(channel, Optional.empty(), "test");
      TrainingRun expectedRun = client.run(runId(uninterrupted));
      TrainingRun run = client.run(runId(resumed));
      assertThat(run.getTrialsList()).isEqualTo(expectedRun.getTrialsList());
      assertThat(run.getParametersMap()).isEqualTo(expectedRun.getParametersMap());
      assertThat(run.getMetricsMap()).isEqualTo(expectedRun.getMetricsMap());
      assertThat(run.getLineage()).isEqualTo(expectedRun.getLineage());
      assertThat(run.getSearch()).isEqualTo(expectedRun.getSearch());
    } finally {
      channel.shutdownNow();
    }
    Result nothing =
        cli(
            "train",
            "--kafka",
            k,
            "--resume",
            "--model",
            "fraud_resumed",
            "--state-dir",
            state.toString());
    assertThat(nothing.err().strip())
        .isEqualTo("streamscore: no interrupted search of model 'fraud_resumed' in " + state);
    java.nio.file.Files.writeString(checkpoint, "setting.seed=nine\nranges=0:0:10\ntrials=0\n");
    Result broken =
        cli(
            "train",
            "--kafka",
            k,
            "--resume",
            "--model",
            "fraud_resumed",
            "--state-dir",
            state.toString());
    assertThat(broken.code()).isEqualTo(1);
    assertThat(broken.err().strip())
        .isEqualTo(
            "streamscore: "
                + checkpoint
                + " is not a search checkpoint (For input string: \"nine\"); delete it to start"
                + " afresh");
  }

  /**
   * The Python round trip of docs/experiments.md: the rows out as CSV, Debian's python3 with pandas
   * and python3-xgboost trains (examples/python/train_xgboost.py), {@code models register} takes
   * the JSON, the node serves it, and 1,000 of its answers equal xgboost's own on the vectors the
   * node assembled.
   */
  @Test
  void aModelTrainedByPythonXgboostIsServedWithXgboostsOwnScores() throws Exception {
    requirePythonXgboost();
    Path rows = dir.resolve("py-rows.csv");
    Result cut = cli("training-data", "--kafka", k, "--out", rows.toString());
    assertThat(cut.code()).as(cut.err()).isZero();
    Path model = dir.resolve("fraud-xgb.json");
    List<String> trained =
        PythonTools.run(
            List.of(
                PYTHON, SCRIPT.toString(), "train", rows.toString(), "--model", model.toString()),
            dir);
    LOG.info("python: {}", trained);
    String inputs =
        PythonTools.run(List.of(PYTHON, SCRIPT.toString(), "inputs", rows.toString()), dir).get(0);
    assertThat(inputs).isEqualTo(String.join(",", TrainingSet.inputNames()));

    // Registered in the wrong order, the model is refused: its feature names say so.
    List<String> shuffled = new ArrayList<>(TrainingSet.inputNames());
    java.util.Collections.swap(shuffled, 0, 1);
    Result wrongOrder =
        cli(
            "models",
            "register",
            model.toString(),
            "--name",
            "fraud_py",
            "--inputs",
            String.join(",", shuffled),
            "--registry",
            registry);
    assertThat(wrongOrder.err())
        .contains("INVALID_ARGUMENT: spec.inputs[0] is 'user_txn:txn_count_1h' but the model");
    Result registered =
        cli(
            "models",
            "register",
            model.toString(),
            "--name",
            "fraud_py",
            "--inputs",
            inputs,
            "--outputs",
            "fraud_probability",
            "--registry",
            registry);
    assertThat(registered.code()).as(registered.err()).isZero();
    Result promoted = cli("models", "promote", "fraud_py", "1", "--registry", registry);
    assertThat(promoted.code()).as(promoted.err()).isZero();

    // The latest 1,000 rows, scored by the node: entity and request-time values from the row.
    List<String> lines = java.nio.file.Files.readAllLines(rows);
    List<String> header = List.of(lines.get(0).split(","));
    int entity = header.indexOf("entity_id");
    int amount = header.indexOf("amount");
    int cardPresent = header.indexOf("card_present");
    ManagedChannel channel =
        NettyChannelBuilder.forTarget(platform.endpoints().scoring().orElseThrow())
            .usePlaintext()
            .build();
    List<dev.streamscore.proto.v1.PredictResponse> answers = new ArrayList<>();
    try {
      var stub = dev.streamscore.proto.v1.ScoringGrpc.newBlockingStub(channel);
      for (String line : lines.subList(lines.size() - 1_000, lines.size())) {
        String[] cells = line.split(",");
        var request =
            dev.streamscore.proto.v1.PredictRequest.newBuilder()
                .setModel(dev.streamscore.proto.v1.ModelRef.newBuilder().setName("fraud_py"))
                .putEntityIds("user_id", cells[entity])
                .putRequestFeatures(
                    "amount",
                    dev.streamscore.proto.v1.Value.newBuilder()
                        .setDoubleValue(Double.parseDouble(cells[amount]))
                        .build())
                .putRequestFeatures(
                    "card_present",
                    dev.streamscore.proto.v1.Value.newBuilder()
                        .setBoolValue(Double.parseDouble(cells[cardPresent]) == 1)
                        .build())
                .setIncludeFeatures(true)
                .build();
        // The node follows the registry within seconds; until then the model is unknown to it.
        answers.add(
            answers.isEmpty()
                ? await()
                    .atMost(Duration.ofSeconds(60))
                    .ignoreExceptions()
                    .until(
                        () -> stub.withDeadlineAfter(5, TimeUnit.SECONDS).predict(request),
                        r -> r.getModelVersion() == 1)
                : stub.withDeadlineAfter(5, TimeUnit.SECONDS).predict(request));
      }
    } finally {
      channel.shutdownNow();
    }

    // xgboost's own scores on the vectors the node assembled.
    StringBuilder vectors = new StringBuilder(inputs).append('\n');
    for (var answer : answers) {
      vectors
          .append(
              answer.getFeaturesList().stream()
                  .map(d -> Double.toString(d))
                  .collect(java.util.stream.Collectors.joining(",")))
          .append('\n');
    }
    Path vectorFile = java.nio.file.Files.writeString(dir.resolve("vectors.csv"), vectors);
    Path scores = dir.resolve("scores.csv");
    PythonTools.run(
        List.of(
            PYTHON,
            SCRIPT.toString(),
            "predict",
            model.toString(),
            vectorFile.toString(),
            "--out",
            scores.toString()),
        dir);
    List<String> own = java.nio.file.Files.readAllLines(scores);
    assertThat(own).hasSize(1_001);
    double worst = 0;
    for (int i = 0; i < answers.size(); i++) {
      double served = answers.get(i).getScores(0).getValue();
      worst = Math.max(worst, Math.abs(served - Double.parseDouble(own.get(i + 1))));
    }
    LOG.info("1,000 served scores against xgboost's own: largest difference {}", worst);
    assertThat(worst).isLessThanOrEqualTo(1e-6);
    // Not a degenerate model: its scores spread.
    assertThat(answers.stream().mapToDouble(a -> a.getScores(0).getValue()).distinct().count())
        .isGreaterThan(50);
  }

  private static final String PYTHON = "/usr/bin/python3";
  private static final Path SCRIPT =
      Path.of(System.getProperty("streamscore.examples.dir", "../examples"))
          .resolve("python/train_xgboost.py")
          .toAbsolutePath()
          .normalize();

  /** Skips on a developer machine without Debian's packages; fails in CI, which installs them. */
  private static void requirePythonXgboost() throws Exception {
    boolean present =
        new ProcessBuilder(PYTHON, "-c", "import pandas, xgboost").start().waitFor() == 0;
    if (!present && System.getenv("CI") == null) {
      org.junit.jupiter.api.Assumptions.abort(
          "python3-pandas and python3-xgboost are not installed; .ci/run installs them");
    }
    assertThat(present)
        .as("/usr/bin/python3 with pandas and xgboost must be installed in CI")
        .isTrue();
  }
}
