package dev.streamscore.benchmarks;

import dev.streamscore.etl.FeatureDef;
import dev.streamscore.etl.FeatureProcessor;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.InMemoryEntityState;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.etl.Windows;
import dev.streamscore.featurestore.FeatureStore;
import dev.streamscore.launcher.load.OpenLoop;
import dev.streamscore.modelsync.OnnxModel;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.RegistryServer;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.FeatureValue;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.PredictResponse;
import dev.streamscore.proto.v1.ScoringGrpc;
import dev.streamscore.proto.v1.Value;
import dev.streamscore.scoring.ScoringNode;
import dev.streamscore.scoring.ScoringNodeConfig;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import org.HdrHistogram.Histogram;
import org.apache.kafka.common.utils.Utils;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;

/**
 * Online scoring under open-loop load, all in one run on one machine:
 *
 * <ul>
 *   <li>{@code Predict} over loopback gRPC at fixed rates (default 2k, 5k, 10k requests/s): each
 *       request reads 8 {@code user_txn} features of a random one of {@code entities} users from
 *       the node's RocksDB store, adds the request's {@code amount}, and runs a Tribuo logistic
 *       regression (ONNX Runtime through DJL). Latency counts from when the request was due, so a
 *       stalled server is not hidden (no coordinated omission);
 *   <li>{@code PredictStream} peak throughput: 2 streams pushing as fast as flow control lets them;
 *   <li>(a) the model alone, in-process, on the same vectors;
 *   <li>(b) the two-hop baseline most deployments run: the features from Redis ({@code
 *       redis-server}, one pipelined {@code HGETALL}, merged client-side), then a separate model
 *       server call (the same gRPC scoring service serving a model that takes all 9 inputs from the
 *       request), at the same rates.
 * </ul>
 *
 * <pre>
 * STREAMSCORE_LOG_LEVEL=WARN java -Xmx2g -cp benchmarks/target/streamscore-benchmarks.jar \
 *     dev.streamscore.benchmarks.ScoringLoad [entities=100000] [seconds=10] [rates=2000,5000,10000] \
 *     [parts=predict,baseline,stream,model]
 * </pre>
 */
public final class ScoringLoad {
  static final FeatureSpec SPEC = FeatureSpec.shippedPayments();
  private static final ViewSpec VIEW = SPEC.views().get("user_txn");
  private static final List<String> STORED =
      List.of(
          "txn_count_10m",
          "txn_count_1h",
          "amount_sum_1h",
          "amount_mean_1h",
          "amount_max_10m",
          "amount_log_std_1h",
          "amount_z_mean_10m",
          "merchants_1h");
  private static final long T0 = 1_764_000_000_000L;
  static final long NOW = T0 + 3_600_000L;

  /** Whether a load's figures are printed (a measurement) or not (a warm-up). */
  private enum Report {
    PRINT,
    QUIET
  }

  public static void main(String[] args) throws Exception {
    int entities = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    int[] rates =
        java.util.Arrays.stream((args.length > 2 ? args[2] : "2000,5000,10000").split(","))
            .mapToInt(Integer::parseInt)
            .toArray();
    java.util.Set<String> parts =
        java.util.Set.of((args.length > 3 ? args[3] : "predict,baseline,stream,model").split(","));
    Path dir = Files.createTempDirectory("scoring-load");
    RedisServer redis = RedisServer.start();
    Clock clock = Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC);
    AtomicLong logged = new AtomicLong();
    try (RegistryServer registry =
            RegistryServer.start(
                ServerTransport.loopback(0),
                dir.resolve("registry"),
                Optional.empty(),
                Clock.systemUTC());
        ScoringNode node = node(dir, registry, clock, p -> logged.incrementAndGet());
        JedisPool pool = redis.pool(64)) {
      load(entities, node.store(), pool);
      ManagedChannel registryChannel =
          NettyChannelBuilder.forTarget(registry.address()).usePlaintext().build();
      Path model = TestModels.logisticRegression(dir.resolve("lr.onnx"), 9, 1);
      RegistryClient client = new RegistryClient(registryChannel, Optional.empty(), "bench");
      client.register(model, spec("fraud", true));
      client.register(model, spec("fraud_raw", false));
      client.promote("fraud", "prod", 1);
      client.promote("fraud_raw", "prod", 1);
      while (node.agent().servingRevision("fraud", "prod") == 0
          || node.agent().servingRevision("fraud_raw", "prod") == 0) {
        Thread.sleep(20); // the agent is loading the models; nothing else to wait on
      }
      // The generator's callbacks only record a latency: running them on the channel's event loop
      // leaves more of the two cores to the server than a callback pool's hand-offs would.
      ManagedChannel channel =
          NettyChannelBuilder.forTarget(node.address()).usePlaintext().directExecutor().build();
      ScoringGrpc.ScoringStub async = ScoringGrpc.newStub(channel);
      ScoringGrpc.ScoringBlockingStub blocking = ScoringGrpc.newBlockingStub(channel);

      System.out.printf(
          Locale.ROOT,
          "%-34s %8s %10s %9s %9s %9s %8s%n",
          "path",
          "rate",
          "achieved",
          "p50 us",
          "p99 us",
          "p99.9 us",
          "errors");
      // Warm every path up untimed: the first seconds of gRPC run interpreted code.
      openLoop(
          "warm-up", 3_000, 10, entities, (id, done) -> predict(async, id, done), Report.QUIET);
      ExecutorService twoHopPool = Executors.newFixedThreadPool(64);
      if (parts.contains("baseline")) {
        openLoop(
            "warm-up",
            2_000,
            6,
            entities,
            (id, done) -> twoHopPool.execute(() -> twoHop(pool, blocking, id, done)),
            Report.QUIET);
      }
      for (int rate : rates) {
        if (parts.contains("predict")) {
          openLoop(
              "Predict (store + model, 1 hop)",
              rate,
              seconds,
              entities,
              (id, done) -> predict(async, id, done),
              Report.PRINT);
        }
        if (parts.contains("baseline")) {
          openLoop(
              "baseline: Redis + model server",
              rate,
              seconds,
              entities,
              (id, done) -> twoHopPool.execute(() -> twoHop(pool, blocking, id, done)),
              Report.PRINT);
        }
      }
      if (parts.contains("stream")) {
        streamPeak(async, entities, seconds);
      }
      if (parts.contains("model")) {
        modelAlone(model, entities, seconds);
      }

      twoHopPool.shutdownNow();
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      registryChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    } finally {
      redis.close();
      Utils.delete(dir.toFile());
    }
  }

  /** A scoring node "bench" under {@code dir}/node on loopback, following {@code registry}. */
  static ScoringNode node(
      Path dir,
      RegistryServer registry,
      Clock clock,
      dev.streamscore.scoring.PredictionSink predictions) {
    return node(dir, registry, clock, predictions, ServerTransport.loopback(0));
  }

  /** As above, served through {@code transport}. */
  static ScoringNode node(
      Path dir,
      RegistryServer registry,
      Clock clock,
      dev.streamscore.scoring.PredictionSink predictions,
      ServerTransport transport) {
    return ScoringNode.start(
        ScoringNodeConfig.of("bench", dir.resolve("node"), Optional.empty(), registry.address()),
        SPEC,
        ScoringNode.Wiring.of(transport, new PrometheusRegistry(), clock)
            .withPredictions(predictions));
  }

  static ModelVersionSpec spec(String name, boolean stored) {
    ModelVersionSpec.Builder spec =
        ModelVersionSpec.newBuilder().setName(name).setFormat(ModelFormat.MODEL_FORMAT_ONNX);
    for (String f : STORED) {
      spec.addInputs(
          stored
              ? ModelInput.newBuilder().setName("user_txn:" + f).setView("user_txn")
              : ModelInput.newBuilder().setName(f));
    }
    spec.addInputs(ModelInput.newBuilder().setName("amount"));
    spec.addOutputs(ModelOutput.newBuilder().setName("p0"));
    spec.addOutputs(ModelOutput.newBuilder().setName("p1"));
    return spec.build();
  }

  static PredictRequest request(String model, String user) {
    return PredictRequest.newBuilder()
        .setRequestId(user)
        .setModel(ModelRef.newBuilder().setName(model))
        .putEntityIds("user_id", user)
        .putRequestFeatures("amount", Value.newBuilder().setDoubleValue(42.5).build())
        .build();
  }

  private static void predict(ScoringGrpc.ScoringStub stub, String user, Runnable done) {
    stub.withDeadlineAfter(10, TimeUnit.SECONDS).predict(request("fraud", user), completion(done));
  }

  /** Redis lookup and client-side merge, then the model server with all inputs in the request. */
  private static void twoHop(
      JedisPool pool, ScoringGrpc.ScoringBlockingStub modelServer, String user, Runnable done) {
    Map<byte[], byte[]> tiles;
    try (Jedis jedis = pool.getResource()) {
      tiles = jedis.hgetAll(("user_txn:" + user).getBytes(StandardCharsets.UTF_8));
    }
    List<FeatureRow> rows = new ArrayList<>();
    for (byte[] value : tiles.values()) {
      try {
        rows.add(FeatureRow.parseFrom(value));
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
    PredictRequest.Builder request =
        PredictRequest.newBuilder()
            .setRequestId(user)
            .setModel(ModelRef.newBuilder().setName("fraud_raw"))
            .putRequestFeatures("amount", Value.newBuilder().setDoubleValue(42.5).build());
    for (String f : STORED) {
      FeatureDef def = VIEW.features().get(f);
      FeatureValue v = Windows.value(VIEW, def, rows, NOW);
      double x =
          v.getValue().hasDoubleValue()
              ? v.getValue().getDoubleValue()
              : v.getValue().getLongValue();
      request.putRequestFeatures(f, Value.newBuilder().setDoubleValue(x).build());
    }
    try {
      modelServer.withDeadlineAfter(10, TimeUnit.SECONDS).predict(request.build());
      done.run();
    } catch (RuntimeException e) {
      ERRORS.incrementAndGet();
      done.run();
    }
  }

  private static final AtomicLong ERRORS = new AtomicLong();

  private static StreamObserver<PredictResponse> completion(Runnable done) {
    return completion(done, ERRORS);
  }

  /** Runs {@code done} when a unary call ends, counting a failed one in {@code errors}. */
  static StreamObserver<PredictResponse> completion(Runnable done, AtomicLong errors) {
    return new StreamObserver<>() {
      @Override
      public void onNext(PredictResponse value) {}

      @Override
      public void onError(Throwable t) {
        errors.incrementAndGet();
        done.run();
      }

      @Override
      public void onCompleted() {
        done.run();
      }
    };
  }

  /**
   * Sends at {@code rate} per second for {@code seconds}, each request due at start + i/rate
   * whether or not earlier ones have answered, and records due-to-answer latency.
   */
  private static void openLoop(
      String path,
      int rate,
      int seconds,
      int entities,
      BiConsumer<String, Runnable> call,
      Report report)
      throws InterruptedException {
    SplittableRandom random = new SplittableRandom(rate);
    long errorsBefore = ERRORS.get();
    // Every call reports through `answered`: the calls here count their errors in ERRORS.
    OpenLoop.Result r =
        OpenLoop.start(
                "load-" + rate,
                rate,
                (long) rate * seconds,
                (i, answered, failed) -> call.accept("u" + random.nextInt(entities), answered))
            .awaitDone(Duration.ofSeconds(30));
    if (report == Report.PRINT) {
      Histogram h = r.latencyMicros();
      System.out.printf(
          Locale.ROOT,
          "%-34s %,8d %,10.0f %9d %9d %9d %8d%n",
          path,
          rate,
          r.throughput(),
          h.getValueAtPercentile(50),
          h.getValueAtPercentile(99),
          h.getValueAtPercentile(99.9),
          ERRORS.get() - errorsBefore);
    }
  }

  /** Two streams, each keeping as many requests in flight as flow control allows. */
  /**
   * Two streams as fast as flow control lets them for {@code seconds}; prints and returns the rate.
   */
  static double streamPeak(ScoringGrpc.ScoringStub stub, int entities, int seconds)
      throws InterruptedException {
    AtomicLong answers = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    List<java.util.concurrent.CountDownLatch> done = new ArrayList<>();
    for (int s = 0; s < 2; s++) {
      java.util.concurrent.CountDownLatch latch = new java.util.concurrent.CountDownLatch(1);
      done.add(latch);
      SplittableRandom random = new SplittableRandom(s);
      AtomicLong ids = new AtomicLong();
      stub.predictStream(
          new ClientResponseObserver<PredictRequest, PredictResponse>() {
            private ClientCallStreamObserver<PredictRequest> requests;

            @Override
            public void beforeStart(ClientCallStreamObserver<PredictRequest> r) {
              requests = r;
              r.setOnReadyHandler(
                  () -> {
                    while (r.isReady()) {
                      if (System.nanoTime() > end) {
                        r.onCompleted();
                        r.setOnReadyHandler(() -> {});
                        return;
                      }
                      String user = "u" + random.nextInt(entities);
                      r.onNext(
                          request("fraud", user).toBuilder()
                              .setRequestId("s" + ids.incrementAndGet())
                              .build());
                    }
                  });
            }

            @Override
            public void onNext(PredictResponse value) {
              if (value.hasError()) {
                errors.incrementAndGet();
              }
              answers.incrementAndGet();
            }

            @Override
            public void onError(Throwable t) {
              latch.countDown();
            }

            @Override
            public void onCompleted() {
              latch.countDown();
            }
          });
    }
    long began = System.nanoTime();
    for (var latch : done) {
      latch.await(seconds + 60L, TimeUnit.SECONDS);
    }
    double elapsed = (System.nanoTime() - began) / 1e9;
    System.out.printf(
        Locale.ROOT,
        "PredictStream peak (2 streams): %,.0f predictions/s (%,d answers, %d errors)%n",
        answers.get() / elapsed,
        answers.get(),
        errors.get());
    return answers.get() / elapsed;
  }

  /** The model alone, in-process, closed loop on one thread. */
  private static void modelAlone(Path file, int entities, int seconds) {
    try (OnnxModel model = OnnxModel.load(file)) {
      SplittableRandom random = new SplittableRandom(1);
      float[] x = new float[9];
      Histogram h = new Histogram(TimeUnit.SECONDS.toMicros(10), 3);
      long warm = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
      while (System.nanoTime() < warm) {
        model.predict(x);
      }
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      long n = 0;
      long began = System.nanoTime();
      while (System.nanoTime() < end) {
        for (int i = 0; i < x.length; i++) {
          x[i] = (float) random.nextDouble(entities);
        }
        long t = System.nanoTime();
        model.predict(x);
        h.recordValue((System.nanoTime() - t) / 1_000);
        n++;
      }
      System.out.printf(
          Locale.ROOT,
          "model alone in-process (DJL + ONNX Runtime): %,.0f predictions/s, p50 %d us, p99 %d us%n",
          n / ((System.nanoTime() - began) / 1e9),
          h.getValueAtPercentile(50),
          h.getValueAtPercentile(99));
    }
  }

  /** Payments of every user spread over the last hour, into the store and Redis alike. */
  private static void load(int entities, FeatureStore store, JedisPool pool) {
    try (Jedis jedis = pool.getResource();
        BaselineLoader loader = new BaselineLoader(store, jedis, VIEW.name())) {
      rows(entities, loader::add);
    }
  }

  /** Each entity's tile rows: three payments of {@code u<i>} in the hour before {@link #NOW}. */
  static void rows(int entities, java.util.function.Consumer<List<FeatureRow>> into) {
    FeatureProcessor processor = FeatureProcessor.of(SPEC, "payments", "bench");
    for (int i = 0; i < entities; i++) {
      InMemoryEntityState state = new InMemoryEntityState();
      for (int k = 0; k < 3; k++) {
        Event e =
            Event.newBuilder()
                .setSource("payments")
                .setEntityId("u" + i)
                .setEventId("t" + i + "-" + k)
                .setEventTimeMs(T0 + ((i * 7L + k * 1_201_000L) % 3_590_000L))
                .putFields("amount", Value.newBuilder().setDoubleValue(5 + (i + k) % 500).build())
                .putFields(
                    "merchant_id", Value.newBuilder().setStringValue("m" + (i + k) % 997).build())
                .putFields("country", Value.newBuilder().setStringValue("US").build())
                .build();
        into.accept(processor.process(state, e, T0).rows());
      }
    }
  }
}
