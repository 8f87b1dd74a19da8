package dev.streamscore.launcher;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.PointInTimeRule;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.ingest.generator.GeneratedEvent;
import dev.streamscore.ingest.generator.GeneratorConfig;
import dev.streamscore.ingest.generator.PaymentsGenerator;
import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.kafka.TopicReader;
import dev.streamscore.kafka.TopicTail;
import dev.streamscore.launcher.load.OpenLoop;
import dev.streamscore.modelsync.ModelAlias;
import dev.streamscore.modelsync.OnnxModel;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.PredictResponse;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.ScoringGrpc;
import dev.streamscore.proto.v1.Value;
import dev.streamscore.scoring.Consistency;
import dev.streamscore.scoring.OnlineConsistency;
import dev.streamscore.scoring.ScoringNode;
import dev.streamscore.scoring.StreamScoring;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code streamscore demo}: the whole loop on the embedded platform, with live progress.
 *
 * <ol>
 *   <li>starts the platform (broker, validator, Flink ETL, feature store, registry, scoring node,
 *       stream scoring) on free ports;
 *   <li>publishes labelled payments (fraud bursts included) and lets the ETL build features;
 *   <li>builds point-in-time training data: the core's replay of {@code events.payments} gives each
 *       labelled event the features as they were at its time;
 *   <li>trains a first model in Java (Tribuo), exports ONNX, registers and promotes it;
 *   <li>scores live over gRPC under open-loop load while stream scoring scores every event;
 *   <li>retrains on more data, hot-swaps to v2 under that load;
 *   <li>reports events, features, predictions, latency, failed requests and the AUC of v1 and v2 on
 *       the same held-out events.
 * </ol>
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = "Runs the platform's whole loop end to end on the embedded default and reports.")
final class DemoCommand implements Callable<Integer> {
  @Option(
      names = "--events",
      defaultValue = "40000",
      description = "Payments published first, to train v1 on (default: ${DEFAULT-VALUE}).")
  int events;

  @Option(
      names = "--rate",
      defaultValue = "4000",
      description = "Payments published per second (default: ${DEFAULT-VALUE}).")
  int rate;

  @Option(
      names = "--live-events",
      defaultValue = "20000",
      description = "Payments published during live scoring (default: ${DEFAULT-VALUE}).")
  int liveEvents;

  @Option(
      names = "--live-rate",
      defaultValue = "1000",
      description =
          "Payments per second during live scoring: the ETL, stream scoring and gRPC scoring share"
              + " the machine then (default: ${DEFAULT-VALUE}).")
  int liveRate;

  @Option(
      names = "--predict-rate",
      defaultValue = "500",
      description =
          "gRPC Predict requests per second during live scoring (default: ${DEFAULT-VALUE}).")
  int predictRate;

  @Option(
      names = "--engine",
      defaultValue = "flink",
      description = "The ETL engine: flink, spark or none (default: ${DEFAULT-VALUE}).")
  String engine;

  @CommandLine.Spec CommandLine.Model.CommandSpec command;

  private PrintWriter out;
  private long began;

  @Override
  public Integer call() throws Exception {
    out = command.commandLine().getOut();
    began = System.nanoTime();
    PlatformConfig config =
        new PlatformConfig(
            Optional.empty(),
            Optional.empty(),
            0,
            Duration.ofSeconds(15),
            Optional.empty(),
            0,
            0,
            PlatformConfig.Engine.parse(engine),
            0,
            0,
            Optional.empty(),
            0,
            Optional.of(new ModelAlias("fraud", "prod")),
            true,
            Map.of("payments", "is_fraud"),
            0);
    say(
        "starting the platform (embedded Kafka, validator, %s ETL, feature store, registry,"
            + " scoring node, stream scoring)",
        engine);
    try (Platform platform = Platform.start(config, Clock.systemUTC())) {
      for (Map.Entry<String, String> e : platform.endpoints().byName().entrySet()) {
        say("  %s: %s", e.getKey(), e.getValue());
      }
      return run(platform);
    }
  }

  private int run(Platform platform) throws Exception {
    String kafka = platform.endpoints().kafka();
    FeatureSpec spec = platform.spec();
    PaymentsGenerator generator =
        new PaymentsGenerator(
            GeneratorConfig.defaults(42)
                .withPopulation(3_000, 1_000)
                .withFraudRate(0.004)
                .withRates(0.005, 0.002, 0.01),
            Clock.systemUTC());
    try (KafkaProducer<String, byte[]> producer =
            new KafkaProducer<>(
                KafkaClients.config(
                    kafka,
                    Map.of(ProducerConfig.LINGER_MS_CONFIG, 5, ProducerConfig.ACKS_CONFIG, "all")),
                new StringSerializer(),
                new ByteArraySerializer());
        TopicTail events =
            TopicTail.fromBeginning(
                KafkaClients.config(kafka),
                TopicNames.events("payments"),
                Duration.ofSeconds(30))) {
      // Phase 1: history to train the first model on.
      publish(producer, generator, platform, "phase 1", this.events, rate, () -> "");
      List<Consistency.Logged> phase1 = validEvents(events);
      say("phase 1: %,d valid events in events.payments", phase1.size());

      List<Consistency.Logged> all = new ArrayList<>(phase1);
      List<Trainer.Row> train1 = TrainingSet.rows(spec, events(all), 0, phase1.size());
      Path dir = platform.dataDir().resolve("demo");
      java.nio.file.Files.createDirectories(dir);
      Trainer.Trained v1 = Trainer.train(train1, 5, 1, dir.resolve("fraud-v1.onnx"));
      say(
          "trained v1 (Tribuo logistic regression) on %,d point-in-time rows, %,d fraud",
          train1.size(), train1.stream().filter(Trainer.Row::fraud).count());

      ManagedChannel registry =
          NettyChannelBuilder.forTarget(platform.endpoints().registry()).usePlaintext().build();
      ManagedChannel scoring =
          NettyChannelBuilder.forTarget(platform.endpoints().scoring().orElseThrow())
              .usePlaintext()
              .build();
      try {
        RegistryClient client = new RegistryClient(registry, Optional.empty(), "demo");
        ModelVersion m1 =
            client.register(
                v1.file(),
                TrainingSet.spec(
                    v1,
                    Map.of(),
                    train1,
                    "training rows: events.payments[0, " + phase1.size() + ")"));
        client.promote("fraud", "prod", m1.getVersion());
        say("registered and promoted fraud v%d", m1.getVersion());
        awaitServing(scoring, m1.getVersion());
        say("scoring node serves v%d", m1.getVersion());
        // Stream scoring starts with the model and has all of phase 1 to catch up on: let it, so
        // that the live figures below measure steady traffic, not that one-time backlog.
        StreamScoring.Counts backlog = awaitStreamScoring(platform, phase1.size());
        say("stream scoring caught up: %,d predictions for phase 1", backlog.scored());

        // Phase 2: live traffic, scored over gRPC and by stream scoring. The gRPC load starts a
        // little earlier, so that the figures measure a warmed-up node, not its first requests.
        OpenLoop load = predictLoad(scoring, predictRate);
        Thread.sleep(2_000); // two seconds of gRPC load before the live events
        load.reset();
        publish(
            producer,
            generator,
            platform,
            "phase 2 (live scoring)",
            liveEvents,
            liveRate,
            () -> describe(load.sinceLast()));
        // Training is next; it would compete for the cores. 6 s: past the calls' 5 s deadline.
        OpenLoop.Result live = load.stop(Duration.ofSeconds(6));
        say(
            "live scoring: %,d gRPC predictions at %,d/s, p50 %.2f ms, p99 %.2f ms, %d failed",
            live.answered(), predictRate, live.millis(50), live.millis(99), live.failed());
        List<Consistency.Logged> phase2 = validEvents(events);
        all.addAll(phase2);
        List<Event> log = events(all);

        // Held out: the last quarter of phase 2, which neither model trains on.
        int cut = phase2.size() * 3 / 4;
        List<Trainer.Row> train2 = TrainingSet.rows(spec, log, 0, phase1.size() + cut);
        List<Trainer.Row> heldOut = TrainingSet.rows(spec, log, phase1.size() + cut, log.size());
        Trainer.Trained v2 = Trainer.train(train2, 10, 2, dir.resolve("fraud-v2.onnx"));
        double auc1 = TrainingSet.auc(v1, heldOut);
        double auc2 = TrainingSet.auc(v2, heldOut);
        say(
            "trained v2 on %,d rows; held-out AUC: v1 %.3f, v2 %.3f (%,d events, %,d fraud)",
            train2.size(),
            auc1,
            auc2,
            heldOut.size(),
            heldOut.stream().filter(Trainer.Row::fraud).count());

        ModelVersion m2 =
            client.register(
                v2.file(),
                TrainingSet.spec(
                    v2,
                    Map.of("auc", auc2),
                    train2,
                    "training rows: events.payments[0, " + (phase1.size() + cut) + ")"));
        OpenLoop swapLoad = predictLoad(scoring, predictRate);
        Thread.sleep(2_000); // the load is on v1 before the swap
        long swapAt = System.nanoTime();
        client.promote("fraud", "prod", m2.getVersion());
        awaitServing(scoring, m2.getVersion());
        say(
            "hot-swapped to v%d under load in %d ms",
            m2.getVersion(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - swapAt));
        Thread.sleep(3_000); // keep the load on the new version for a while
        OpenLoop.Result swap = swapLoad.stop(Duration.ofSeconds(6));

        StreamScoring.Counts streamed = awaitStreamScoring(platform, all.size());
        List<Prediction> logged = predictions(kafka, streamed.scored());
        Map<Long, ModelVersionSpec> versions = new HashMap<>();
        client
            .model("fraud")
            .getVersionsList()
            .forEach(v -> versions.put(v.getVersion(), v.getSpec()));
        Consistency.Report consistency;
        // Each prediction's scores, recomputed from its training row by the version it used.
        try (OnnxModel o1 = OnnxModel.load(v1.file());
            OnnxModel o2 = OnnxModel.load(v2.file())) {
          Map<Long, OnnxModel> byVersion = Map.of(m1.getVersion(), o1, m2.getVersion(), o2);
          consistency =
              new Consistency(spec, "payments", PointInTimeRule.LOG_ORDER)
                  .check(
                      all,
                      versions,
                      logged.stream().filter(p -> p.getNodeId().equals("stream")).toList(),
                      (version, row) ->
                          byVersion.get(version).predictBatch(new float[][] {row})[0]);
        }
        List<Prediction> online =
            logged.stream().filter(p -> !p.getNodeId().equals("stream") && !p.getShadow()).toList();
        OnlineConsistency.Report onlineConsistency =
            new OnlineConsistency(spec, "payments").check(all, versions, online);
        report(platform, log, live, swap, streamed, logged.size(), consistency, auc1, auc2, m1, m2);
        say("  gRPC consistency         %s", onlineConsistency.summary());
        say("  gRPC freshness           %s", freshness(online));
        platform
            .node()
            .monitor()
            .ifPresent(
                m -> {
                  say("  live quality (1h)        %s", MonitorSummary.quality(m, "fraud", "1h"));
                  say("  input drift (1h)         %s", MonitorSummary.drift(m, "fraud", "1h"));
                });
        return live.failed() + swap.failed() == 0 ? 0 : 1;
      } finally {
        registry.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        scoring.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /** Publishes one phase of payments at the configured rate, with progress every 2 s. */
  private void publish(
      KafkaProducer<String, byte[]> producer,
      PaymentsGenerator generator,
      Platform platform,
      String phase,
      int count,
      int perSecond,
      java.util.function.Supplier<String> progress) {
    long start = System.nanoTime();
    long interval = TimeUnit.SECONDS.toNanos(1) / perSecond;
    long nextReport = start + TimeUnit.SECONDS.toNanos(2);
    for (int i = 0; i < count; i++) {
      long due = start + i * interval;
      for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
        java.util.concurrent.locks.LockSupport.parkNanos(wait);
      }
      GeneratedEvent e = generator.next();
      producer.send(new ProducerRecord<>(TopicNames.raw("payments"), e.key(), e.json()));
      if (System.nanoTime() > nextReport) {
        String more = progress.get();
        say(
            "%s: published %,d of %,d payments; feature rows stored %,d%s",
            phase, i, count, platform.materializer().rowsRead(), more.isEmpty() ? "" : "; " + more);
        nextReport += TimeUnit.SECONDS.toNanos(2);
      }
    }
    producer.flush();
    say("%s: published %,d payments", phase, count);
  }

  /** The events the validator passes until none has come for 5 s: it has passed them all. */
  private static List<Consistency.Logged> validEvents(TopicTail events) throws Exception {
    List<Consistency.Logged> out = new ArrayList<>();
    for (var r : events.readUntilQuiet(Duration.ofSeconds(5), Duration.ofMinutes(5))) {
      out.add(
          new Consistency.Logged(
              new RecordOrigin(r.topic(), r.partition(), r.offset()), Event.parseFrom(r.value())));
    }
    return out;
  }

  private static List<Event> events(List<Consistency.Logged> logged) {
    return logged.stream().map(Consistency.Logged::event).toList();
  }

  private static PredictRequest request(String user, double amount) {
    return PredictRequest.newBuilder()
        .setModel(ModelRef.newBuilder().setName("fraud"))
        .putEntityIds("user_id", user)
        .putRequestFeatures("amount", Value.newBuilder().setDoubleValue(amount).build())
        .putRequestFeatures("card_present", Value.newBuilder().setBoolValue(false).build())
        .build();
  }

  private static void awaitServing(ManagedChannel scoring, long version) throws Exception {
    var stub = ScoringGrpc.newBlockingStub(scoring);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        if (stub.withDeadlineAfter(5, TimeUnit.SECONDS).predict(request("u1", 10)).getModelVersion()
            == version) {
          return;
        }
      } catch (io.grpc.StatusRuntimeException e) {
        if (System.nanoTime() > deadline) {
          throw new StartupException("the scoring node did not serve v" + version + ": " + e);
        }
      }
      if (System.nanoTime() > deadline) {
        throw new StartupException("the scoring node did not serve v" + version + " in 60 s");
      }
      Thread.sleep(100); // polling the node: there is no push of "now serving"
    }
  }

  /**
   * Every record of predictions.fraud, read committed to its end, once it holds the {@code
   * streamed} stream predictions counted (each becomes readable when its transaction commits, a
   * commit interval later); at most 30 s.
   */
  private static List<Prediction> predictions(String kafka, long streamed)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    List<Prediction> out = readPredictions(kafka);
    while (out.stream().filter(p -> p.getNodeId().equals("stream")).count() < streamed
        && System.nanoTime() < deadline) {
      Thread.sleep(200); // the last transaction of stream scoring is committing
      out = readPredictions(kafka);
    }
    return out;
  }

  private static List<Prediction> readPredictions(String kafka) {
    List<Prediction> out = new ArrayList<>();
    TopicReader.readAll(
        KafkaClients.config(kafka),
        TopicNames.predictions("fraud"),
        Duration.ofSeconds(30),
        r -> {
          try {
            out.add(Prediction.parseFrom(r.value()));
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException(
                "predictions.fraud holds a record that is not a Prediction", e);
          }
        });
    return out;
  }

  /** Waits (up to a minute) until stream scoring has answered every valid event. */
  private StreamScoring.Counts awaitStreamScoring(Platform platform, int events)
      throws InterruptedException {
    ScoringNode node = platform.node();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    StreamScoring.Counts c = node.streamScoringCounts();
    while (c.scored() + c.unscorable() < events && System.nanoTime() < deadline) {
      Thread.sleep(200); // stream scoring is catching up with the events topic
      c = node.streamScoringCounts();
    }
    return c;
  }

  private void report(
      Platform platform,
      List<Event> events,
      OpenLoop.Result live,
      OpenLoop.Result swap,
      StreamScoring.Counts streamed,
      long predictionRecords,
      Consistency.Report consistency,
      double auc1,
      double auc2,
      ModelVersion m1,
      ModelVersion m2) {
    long fraud =
        events.stream()
            .filter(e -> e.getFieldsMap().containsKey("is_fraud"))
            .filter(e -> e.getFieldsMap().get("is_fraud").getBoolValue())
            .count();
    say("");
    say("streamscore demo report (%.0f s)", (System.nanoTime() - began) / 1e9);
    say(
        "  events published         %,d (%,d, then %,d live)",
        (long) this.events + liveEvents, this.events, liveEvents);
    say("  valid events             %,d (%,d labelled fraud)", events.size(), fraud);
    say("  feature rows stored      %,d", platform.materializer().rowsRead());
    say(
        "  stream scoring           %,d predictions + %,d unscorable for %,d valid events",
        streamed.scored(), streamed.unscorable(), events.size());
    say(
        "  gRPC Predict, live       %,d at %,d/s: p50 %.2f ms, p99 %.2f ms, %d failed",
        live.answered(), predictRate, live.millis(50), live.millis(99), live.failed());
    say(
        "  gRPC Predict, hot swap   %,d at %,d/s across v%d -> v%d: p50 %.2f ms, p99 %.2f ms,"
            + " %d failed",
        swap.answered(),
        predictRate,
        m1.getVersion(),
        m2.getVersion(),
        swap.millis(50),
        swap.millis(99),
        swap.failed());
    say("  prediction log           %,d records in predictions.fraud", predictionRecords);
    say("  online/offline consistency: %s", consistency.summary());
    say("                            %s", consistency.scoresSummary());
    consistency.inputs().stream()
        .filter(i -> i.mismatches() > 0)
        .sorted(java.util.Comparator.comparingLong(Consistency.InputSkew::mismatches).reversed())
        .limit(3)
        .forEach(
            i ->
                say(
                    "    %-24s %,d differ (served higher %,d; median %+.1f, largest %.1f)",
                    i.input(),
                    i.mismatches(),
                    i.servedHigher(),
                    i.medianDifference(),
                    i.largestDifference()));
    say(
        "  AUC on held-out events   v%d %.3f, v%d %.3f",
        m1.getVersion(), auc1, m2.getVersion(), auc2);
  }

  private void say(String format, Object... args) {
    out.printf(
        Locale.ROOT, "[%5.1fs] " + format + "%n", concat((System.nanoTime() - began) / 1e9, args));
    out.flush();
  }

  private static Object[] concat(Object first, Object[] rest) {
    Object[] all = new Object[rest.length + 1];
    all[0] = first;
    System.arraycopy(rest, 0, all, 1, rest.length);
    return all;
  }

  /** The median and p99 of how far behind the log the gRPC predictions' features were. */
  private static String freshness(List<Prediction> online) {
    long[] ms =
        online.stream()
            .filter(Prediction::hasFreshness)
            .mapToLong(p -> p.getFreshness().getBehindMs())
            .sorted()
            .toArray();
    long[] records =
        online.stream()
            .filter(Prediction::hasFreshness)
            .mapToLong(p -> p.getFreshness().getBehindRecords())
            .sorted()
            .toArray();
    if (ms.length == 0) {
      return "not known (no prediction read stored features)";
    }
    return String.format(
        java.util.Locale.ROOT,
        "features behind the log: p50 %,d ms / %,d records, p99 %,d ms / %,d records (%,d"
            + " predictions)",
        ms[ms.length / 2],
        records[records.length / 2],
        ms[(int) (ms.length * 0.99)],
        records[(int) (records.length * 0.99)],
        ms.length);
  }

  /** Open-loop Predict load on random users (5 s deadline each), until stopped. */
  private static OpenLoop predictLoad(ManagedChannel channel, int rate) {
    ScoringGrpc.ScoringStub stub = ScoringGrpc.newStub(channel);
    java.util.SplittableRandom random = new java.util.SplittableRandom(7);
    return OpenLoop.start(
        "demo-load",
        rate,
        (i, answered, failed) ->
            stub.withDeadlineAfter(5, TimeUnit.SECONDS)
                .predict(
                    request("u" + random.nextInt(3_000), Math.exp(3.4 + random.nextGaussian())),
                    new StreamObserver<PredictResponse>() {
                      @Override
                      public void onNext(PredictResponse value) {}

                      @Override
                      public void onError(Throwable t) {
                        failed.run();
                      }

                      @Override
                      public void onCompleted() {
                        answered.run();
                      }
                    }));
  }

  /** p50 and p99 of a latency histogram in microseconds, for progress lines. */
  private static String describe(Histogram h) {
    return String.format(
        Locale.ROOT,
        "gRPC p50 %.1f ms, p99 %.1f ms",
        h.getValueAtPercentile(50) / 1000.0,
        h.getValueAtPercentile(99) / 1000.0);
  }
}
