package dev.streamscore.modelsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.v1.AliasState;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.NodeStatus;
import dev.streamscore.proto.v1.SyncState;
import io.grpc.ManagedChannel;
import java.io.RandomAccessFile;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyncAgentTest {
  private static final FeatureSpec SPEC = FeatureSpec.shippedPayments();
  private static final int WIDTH = 3;

  @TempDir Path dir;
  private Fixtures.Registry registry;
  private ManagedChannel channel;
  private RegistryClient client;
  private final List<SyncAgent> agents = new ArrayList<>();

  @BeforeEach
  void start() {
    registry = Fixtures.Registry.start(dir.resolve("registry"), Optional.empty(), "ci");
    channel = registry.channel();
    client = registry.client();
  }

  @AfterEach
  void stop() throws Exception {
    agents.forEach(SyncAgent::close);
    registry.close();
  }

  private SyncAgent agent(String node) {
    SyncAgent agent =
        SyncAgent.start(
            SyncAgent.Config.of(
                    node, List.of(new ModelAlias("fraud", "prod")), dir.resolve("cache-" + node))
                .withPollInterval(Duration.ofMillis(200)),
            channel,
            SPEC,
            Clock.systemUTC());
    agents.add(agent);
    return agent;
  }

  private ModelVersion register(float constant) throws Exception {
    Path file = TestModels.constant(dir.resolve("m" + constant + ".onnx"), WIDTH, constant);
    return client.register(file, Fixtures.spec("fraud", WIDTH, 1));
  }

  private static float predict(SyncAgent agent, String key) {
    try (Lease lease = agent.acquire("fraud", "prod", key)) {
      return lease.predict(new float[WIDTH])[0];
    }
  }

  private static void awaitServing(SyncAgent agent, long revision) {
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(2))
        .until(() -> agent.servingRevision("fraud", "prod") >= revision);
  }

  @Test
  void fourThreadsPredictThroughFiveHundredSwapsWithoutAFailure() throws Exception {
    register(1f);
    register(2f);
    Map<Long, Long> versionAt = new ConcurrentHashMap<>(); // revision -> version it promoted
    AliasState first = client.promote("fraud", "prod", 1);
    versionAt.put(first.getRevision(), 1L);
    SyncAgent agent = agent("n1");
    awaitServing(agent, first.getRevision());

    AtomicBoolean running = new AtomicBoolean(true);
    AtomicLong predictions = new AtomicLong();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<String> violations = new ArrayList<>();
    java.util.Queue<long[]> observed = new java.util.concurrent.ConcurrentLinkedQueue<>();
    CountDownLatch started = new CountDownLatch(4);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      int id = t;
      Thread thread =
          new Thread(
              () -> {
                started.countDown();
                long n = 0;
                while (running.get()) {
                  try {
                    long before = agent.servingRevision("fraud", "prod");
                    long version;
                    float value;
                    try (Lease lease = agent.acquire("fraud", "prod", "user-" + id + "-" + n++)) {
                      version = lease.version();
                      value = lease.predict(new float[WIDTH])[0];
                    }
                    long after = agent.servingRevision("fraud", "prod");
                    if (value != version) {
                      synchronized (violations) {
                        violations.add("lease v" + version + " computed " + value);
                      }
                    }
                    observed.add(new long[] {before, after, version});
                    predictions.incrementAndGet();
                  } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    return;
                  }
                }
              },
              "predictor-" + t);
      thread.start();
      threads.add(thread);
    }
    started.await();

    for (int i = 0; i < 500; i++) {
      long version = i % 2 == 0 ? 2 : 1;
      long before = predictions.get();
      AliasState state = client.promote("fraud", "prod", version);
      versionAt.put(state.getRevision(), version);
      awaitServing(agent, state.getRevision());
      // Keep predictions flowing across every swap, not only between some of them.
      await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(1))
          .until(() -> predictions.get() > before + 4);
    }
    running.set(false);
    for (Thread t : threads) {
      t.join(10_000);
    }

    assertThat(failure.get()).isNull();
    // Each prediction came from a version that served at some revision while it ran: the one
    // live when it started, or one promoted while it ran.
    for (long[] o : observed) {
      boolean seen = false;
      for (long r = o[0]; r <= o[1] && !seen; r++) {
        Long v = versionAt.get(r);
        seen = v != null && v == o[2];
      }
      if (!seen) {
        violations.add("v" + o[2] + " did not serve at revisions " + o[0] + ".." + o[1]);
      }
    }
    assertThat(violations).isEmpty();
    assertThat(predictions.get()).isGreaterThan(2_000);
    SyncAgent.Stats stats = agent.stats();
    assertThat(stats.swaps()).isEqualTo(501);
    assertThat(stats.failures()).isZero();
    // Every version but the serving one has been closed: nothing leaks per swap.
    assertThat(stats.versionsLoaded() - stats.versionsClosed()).isEqualTo(1);
  }

  @Test
  void aLeaseHeldAcrossASwapKeepsItsVersionUntilItIsClosed() throws Exception {
    register(1f);
    register(2f);
    SyncAgent agent = agent("n1");
    awaitServing(agent, client.promote("fraud", "prod", 1).getRevision());
    Lease held = agent.acquire("fraud", "prod", "k");

    awaitServing(agent, client.promote("fraud", "prod", 2).getRevision());
    assertThat(predict(agent, "k")).isEqualTo(2f);
    assertThat(held.predict(new float[WIDTH])).containsExactly(1f);
    assertThat(agent.stats().versionsClosed()).isZero();

    held.close();
    assertThat(agent.stats().versionsClosed()).isEqualTo(1);
    assertThatThrownBy(() -> held.predict(new float[WIDTH]))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void brokenVersionsAreRefusedWithTheirReasonAndTheServingVersionStays() throws Exception {
    register(1f);
    SyncAgent agent = agent("n1");
    awaitServing(agent, client.promote("fraud", "prod", 1).getRevision());

    // A corrupted artifact: bytes flipped in the registry's store after registration.
    ModelVersion corrupt = register(5f);
    try (RandomAccessFile f =
        new RandomAccessFile(
            dir.resolve("registry/artifacts/sha256").resolve(corrupt.getSha256()).toFile(), "rw")) {
      f.seek(f.length() / 2);
      int b = f.read();
      f.seek(f.length() / 2);
      f.write(b ^ 0xff);
    }
    assertRefused(agent, corrupt, "sha256 mismatch");

    // A model whose input width is not what its entry declares: refused at the door.
    assertThatThrownBy(
            () ->
                client.register(
                    TestModels.constant(dir.resolve("wide.onnx"), WIDTH + 1, 6f),
                    Fixtures.spec("fraud", WIDTH, 1)))
        .hasMessage("INVALID_ARGUMENT: the model takes 4 inputs but spec.inputs declares 3");

    // A model that loads and then fails on its first input.
    ModelVersion failing =
        client.register(
            TestModels.failsAtRunTime(dir.resolve("fail.onnx"), WIDTH),
            Fixtures.spec("fraud", WIDTH, 1));
    assertRefused(agent, failing, "failed its warm-up");

    // Bytes that are no ONNX model at all: refused at the door too.
    assertThatThrownBy(
            () ->
                client.register(
                    java.nio.file.Files.write(dir.resolve("junk.onnx"), new byte[] {7, 7, 7}),
                    Fixtures.spec("fraud", WIDTH, 1)))
        .hasMessageStartingWith("INVALID_ARGUMENT: the artifact is not a loadable ONNX model");

    // Inputs from a view this node does not serve.
    ModelVersionSpec foreign =
        Fixtures.spec("fraud", WIDTH, 1).toBuilder()
            .setInputs(0, ModelInput.newBuilder().setName("clicks:count_1h").setView("clicks"))
            .build();
    ModelVersion unknownView =
        client.register(TestModels.constant(dir.resolve("v.onnx"), WIDTH, 8f), foreign);
    assertRefused(agent, unknownView, "names view 'clicks', which is not among the views here");

    // An XGBoost model with one output where its entry declares two.
    ModelVersion xgboost =
        client.register(
            TestModels.xgboost(dir.resolve("x.json"), WIDTH, 500, 3),
            Fixtures.spec("fraud", WIDTH, 2).toBuilder()
                .setFormat(dev.streamscore.proto.v1.ModelFormat.MODEL_FORMAT_XGBOOST_JSON)
                .build());
    assertRefused(agent, xgboost, "returned 1 values in warm-up");

    assertThat(agent.stats().failures()).isEqualTo(4);
    var scraped = new SyncMetrics(agent).collect();
    assertThat(scraped.stream().map(m -> m.getMetadata().getName()))
        .contains(
            "streamscore_model_swap_failures",
            "streamscore_model_versions_open",
            "streamscore_model_serving_revision");
    var failuresMetric =
        (io.prometheus.metrics.model.snapshots.CounterSnapshot)
            scraped.stream()
                .filter(m -> m.getMetadata().getName().equals("streamscore_model_swap_failures"))
                .findFirst()
                .orElseThrow();
    assertThat(failuresMetric.getDataPoints().get(0).getValue()).isEqualTo(4.0);
    assertThat(agent.stats().versionsLoaded() - agent.stats().versionsClosed()).isEqualTo(1);
    // A good version after all that still goes live.
    ModelVersion good = register(9f);
    awaitServing(agent, client.promote("fraud", "prod", good.getVersion()).getRevision());
    assertThat(predict(agent, "k")).isEqualTo(9f);
  }

  @Test
  void anXgboostVersionGoesLiveAndScoresAsXgboostDoes() throws Exception {
    SyncAgent agent = agent("n1");
    ModelVersion onnx = register(1f);
    awaitServing(agent, client.promote("fraud", "prod", onnx.getVersion()).getRevision());
    Path file = TestModels.xgboost(dir.resolve("x.json"), WIDTH, 1_000, 4);
    ModelVersion trees =
        client.register(
            file,
            Fixtures.spec("fraud", WIDTH, 1).toBuilder()
                .setFormat(dev.streamscore.proto.v1.ModelFormat.MODEL_FORMAT_XGBOOST_JSON)
                .build());
    awaitServing(agent, client.promote("fraud", "prod", trees.getVersion()).getRevision());

    float[] input = {0.5f, -1f, 2f};
    float served;
    try (Lease lease = agent.acquire("fraud", "prod", "k")) {
      assertThat(lease.version()).isEqualTo(trees.getVersion());
      served = lease.predict(input)[0];
    }
    try (XgboostModel direct = XgboostModel.load(file)) {
      assertThat(served).isEqualTo(direct.predict(input)[0]);
    }
    assertThat(served).isBetween(0f, 1f);
  }

  @Test
  void theRegistryRefusesAnArtifactThatIsNotWhatItsFormatSays() throws Exception {
    Path onnx = TestModels.constant(dir.resolve("c.onnx"), WIDTH, 2f);
    ModelVersionSpec asXgboost =
        Fixtures.spec("fraud", WIDTH, 1).toBuilder()
            .setFormat(dev.streamscore.proto.v1.ModelFormat.MODEL_FORMAT_XGBOOST_JSON)
            .build();
    assertThatThrownBy(() -> client.register(onnx, asXgboost))
        .hasMessageContaining("not an XGBoost JSON model");
    Path trees = TestModels.xgboost(dir.resolve("x.json"), WIDTH - 1, 200, 4);
    assertThatThrownBy(() -> client.register(trees, asXgboost))
        .hasMessageContaining("the model takes 2 inputs but spec.inputs declares 3");
    Path named = TestModels.xgboost(dir.resolve("named.json"), WIDTH, 200, 4);
    var model = new com.fasterxml.jackson.databind.ObjectMapper().readTree(named.toFile());
    ((com.fasterxml.jackson.databind.node.ObjectNode) model.get("learner"))
        .putArray("feature_names")
        .add(asXgboost.getInputs(0).getName())
        .add(asXgboost.getInputs(2).getName())
        .add(asXgboost.getInputs(1).getName());
    java.nio.file.Files.writeString(named, model.toString());
    assertThatThrownBy(() -> client.register(named, asXgboost))
        .hasMessageContaining(
            "spec.inputs[1] is '"
                + asXgboost.getInputs(1).getName()
                + "' but the model was trained with '"
                + asXgboost.getInputs(2).getName()
                + "' there");
  }

  private void assertRefused(SyncAgent agent, ModelVersion bad, String reason) {
    AliasState state = client.promote("fraud", "prod", bad.getVersion());
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                agent.status("fraud", "prod").attemptedRevision() == state.getRevision()
                    && agent.status("fraud", "prod").state() == SyncState.SYNC_STATE_FAILED);
    assertThat(agent.status("fraud", "prod").error()).contains(reason);
    assertThat(agent.status("fraud", "prod").servingVersions()).containsExactly(1L);
    assertThat(predict(agent, "k")).isEqualTo(1f);
    // The reason is visible through the registry too.
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              NodeStatus reported = client.nodeStatuses("fraud").get(0);
              assertThat(reported.getAttemptedRevision()).isEqualTo(state.getRevision());
              assertThat(reported.getState()).isEqualTo(SyncState.SYNC_STATE_FAILED);
              assertThat(reported.getError().getMessage()).contains(reason);
              assertThat(reported.getServingVersionsList()).containsExactly(1L);
            });
    client.rollback("fraud", "prod", "refused by nodes");
  }

  @Test
  void canaryWeightsRouteKeysStickilyAndTheShadowIsLoadedButNeverRouted() throws Exception {
    register(1f);
    register(2f);
    register(3f);
    SyncAgent agent = agent("n1");
    AliasState state =
        client.setAlias(
            "fraud",
            "prod",
            dev.streamscore.proto.v1.TrafficPolicy.newBuilder()
                .addSplits(
                    dev.streamscore.proto.v1.TrafficSplit.newBuilder().setVersion(1).setWeight(90))
                .addSplits(
                    dev.streamscore.proto.v1.TrafficSplit.newBuilder().setVersion(2).setWeight(10))
                .setShadowVersion(3)
                .build(),
            "canary");
    awaitServing(agent, state.getRevision());

    int[] counts = new int[4];
    for (int i = 0; i < 10_000; i++) {
      counts[(int) predict(agent, "user-" + i)]++;
    }
    assertThat(counts[3]).isZero();
    assertThat(counts[2]).isBetween(800, 1_200);
    for (int i = 0; i < 100; i++) {
      assertThat(predict(agent, "user-" + i)).isEqualTo(predict(agent, "user-" + i));
    }
    try (Lease shadow = agent.acquireShadow("fraud", "prod").orElseThrow()) {
      assertThat(shadow.predict(new float[WIDTH])).containsExactly(3f);
    }
  }

  @Test
  void anAgentStartedBeforeItsRegistryServesOnceTheRegistryIsUp() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path registryDir = dir.resolve("late-registry");
    ManagedChannel lateChannel = Fixtures.channel("127.0.0.1:" + port);
    SyncAgent agent =
        SyncAgent.start(
            SyncAgent.Config.of(
                    "n2", List.of(new ModelAlias("fraud", "prod")), dir.resolve("cache-n2"))
                .withPollInterval(Duration.ofMillis(100)),
            lateChannel,
            SPEC,
            Clock.systemUTC());
    agents.add(agent);
    assertThatThrownBy(() -> agent.acquire("fraud", "prod", "k"))
        .isInstanceOf(ModelUnavailableException.class)
        .hasMessageContaining("not loaded yet");
    assertThat(agent.ready()).isFalse();

    RegistryServer late =
        RegistryServer.start(
            ServerTransport.loopback(port), registryDir, Optional.empty(), Clock.systemUTC());
    ManagedChannel ours = Fixtures.channel(late.address());
    try {
      RegistryClient c = new RegistryClient(ours, Optional.empty(), "ci");
      c.register(
          TestModels.constant(dir.resolve("late.onnx"), WIDTH, 4f),
          Fixtures.spec("fraud", WIDTH, 1));
      AliasState s = c.promote("fraud", "prod", 1);
      awaitServing(agent, s.getRevision());
      assertThat(predict(agent, "k")).isEqualTo(4f);
      assertThat(agent.ready()).isTrue();
      agent.close();
    } finally {
      Fixtures.close(ours);
      Fixtures.close(lateChannel);
      late.close();
    }
  }

  @Test
  void anAgentWithoutTargetsServesEveryAliasOfEveryModel() throws Exception {
    SyncAgent agent =
        SyncAgent.start(
            SyncAgent.Config.of("all", List.of(), dir.resolve("cache-all"))
                .withPollInterval(Duration.ofMillis(200)),
            channel,
            SPEC,
            Clock.systemUTC());
    agents.add(agent);
    assertThat(agent.ready()).isFalse();
    register(1f);
    client.register(
        TestModels.constant(dir.resolve("churn.onnx"), WIDTH, 3f),
        Fixtures.spec("churn", WIDTH, 1));
    long fraud = client.promote("fraud", "prod", 1).getRevision();
    long churn = client.promote("churn", "staging", 1).getRevision();
    await().atMost(Duration.ofSeconds(30)).until(agent::ready);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                agent.servingRevision("fraud", "prod") == fraud
                    && agent.servingRevision("churn", "staging") == churn);

    try (Lease l = agent.acquire("churn", "staging", "k")) {
      assertThat(l.predict(new float[WIDTH])).containsExactly(3f);
    }
    assertThat(predict(agent, "k")).isEqualTo(1f);
    assertThatThrownBy(() -> agent.acquire("nope", "prod", "k"))
        .isInstanceOfSatisfying(
            ModelUnavailableException.class,
            e -> assertThat(e.reason()).isEqualTo(ModelUnavailableException.Reason.UNKNOWN_MODEL));
    assertThat(agent.statuses())
        .extracting(s -> s.target().toString())
        .containsExactly("churn:staging", "fraud:prod");
  }
}
