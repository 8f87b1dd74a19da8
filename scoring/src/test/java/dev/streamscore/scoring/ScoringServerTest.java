package dev.streamscore.scoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.streamscore.modelsync.OnnxModel;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.v1.FeatureIssue;
import dev.streamscore.proto.v1.MissingPolicy;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.PredictResponse;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.ScoringGrpc;
import dev.streamscore.proto.v1.Value;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScoringServerTest {
  @TempDir Path dir;
  private Node node;
  private Path v1;

  @BeforeEach
  void start() throws Exception {
    node = new Node(dir);
    node.payments("u1", 5); // count 5, mean of 10..50 = 30
    v1 = TestModels.logisticRegression(dir.resolve("v1.onnx"), 3, 1);
    node.client.register(v1, Node.spec(MissingPolicy.MISSING_POLICY_USE_DEFAULT));
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> serving(node.client.promote("fraud", "prod", 1).getRevision()));
  }

  private boolean serving(long revision) {
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> node.agent.servingRevision("fraud", "prod") >= revision);
    return true;
  }

  @AfterEach
  void stop() throws Exception {
    node.close();
  }

  private ScoringGrpc.ScoringBlockingStub stub() {
    return ScoringGrpc.newBlockingStub(node.channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private static PredictRequest.Builder request(String user, double amount) {
    PredictRequest.Builder r =
        PredictRequest.newBuilder()
            .setModel(ModelRef.newBuilder().setName("fraud"))
            .putRequestFeatures("amount", Value.newBuilder().setDoubleValue(amount).build());
    if (user != null) {
      r.putEntityIds("user_id", user);
    }
    return r;
  }

  @Test
  void scoresTheVectorAssembledFromStoreAndRequestExactlyAsTheModelDoesOffline() throws Exception {
    PredictResponse response =
        stub().predict(request("u1", 75).setRequestId("r1").setIncludeFeatures(true).build());

    assertThat(response.getRequestId()).isEqualTo("r1");
    assertThat(response.getModelName()).isEqualTo("fraud");
    assertThat(response.getModelVersion()).isEqualTo(1);
    assertThat(response.getFeaturesList()).containsExactly(5.0, 30.0, 75.0);
    assertThat(response.getFeatureIssuesList()).isEmpty();
    assertThat(response.getOldestFeatureTimeMs()).isEqualTo(Node.T0 + 4_000);
    try (OnnxModel offline = OnnxModel.load(v1)) {
      float[] expected = offline.predict(new float[] {5, 30, 75});
      assertThat(response.getScoresList())
          .extracting(s -> s.getName() + "=" + (float) s.getValue())
          .containsExactly("p0=" + expected[0], "p1=" + expected[1]);
    }
    Prediction logged = node.logged.peek();
    assertThat(logged.getRequestId()).isEqualTo("r1");
    assertThat(logged.getEntityIdsMap()).containsEntry("user_id", "u1");
    assertThat(logged.getAlias()).isEqualTo("prod");
    assertThat(logged.getShadow()).isFalse();
    assertThat(logged.getNodeId()).isEqualTo("node-1");
    assertThat(logged.getFeatureTimeMsMap())
        .containsEntry("user_txn:txn_count_1h", Node.T0 + 4_000);
    assertThat(logged.getFeatureHash()).isEqualTo(Scorer.hash(new float[] {5, 30, 75}));
    // A request without an id gets one.
    assertThat(stub().predict(request("u1", 1).build()).getRequestId()).startsWith("node-1-");
  }

  @Test
  void missingStoredFeaturesTakeTheirDefaultsAndAreReported() {
    PredictResponse response =
        stub().predict(request("stranger", 75).setIncludeFeatures(true).build());
    assertThat(response.getFeaturesList()).containsExactly(0.0, -1.0, 75.0);
    assertThat(response.getFeatureIssuesList())
        .extracting(FeatureIssue::getFeature, FeatureIssue::getStatus)
        // A count over no events is 0, a true value; a mean of nothing is missing.
        .containsExactly(org.assertj.core.groups.Tuple.tuple("user_txn:amount_mean_1h", "missing"));
    // A missing request-time feature takes its default too.
    PredictResponse noAmount =
        stub()
            .predict(
                PredictRequest.newBuilder()
                    .setModel(ModelRef.newBuilder().setName("fraud"))
                    .putEntityIds("user_id", "u1")
                    .setIncludeFeatures(true)
                    .build());
    assertThat(noAmount.getFeaturesList()).containsExactly(5.0, 30.0, 50.0);
  }

  @Test
  void aModelThatRefusesDefaultsFailsThePreconditionNamingTheFeature() throws Exception {
    node.client.register(
        TestModels.logisticRegression(dir.resolve("v2.onnx"), 3, 2),
        Node.spec(MissingPolicy.MISSING_POLICY_REJECT));
    serving(node.client.promote("fraud", "prod", 2).getRevision());
    assertThat(stub().predict(request("u1", 1).build()).getModelVersion()).isEqualTo(2);
    assertThatThrownBy(() -> stub().predict(request("stranger", 1).build()))
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.FAILED_PRECONDITION))
        .hasMessageContaining(
            "feature 'user_txn:amount_mean_1h' is missing for user_id 'stranger'");
  }

  @Test
  void badRequestsGetSpecificStatusesNamingTheField() {
    assertStatus(
        PredictRequest.newBuilder().build(), Status.Code.INVALID_ARGUMENT, "model.name is empty");
    assertStatus(
        request("u1", 1).setModel(ModelRef.newBuilder().setName("churn")).build(),
        Status.Code.INVALID_ARGUMENT,
        "model.name: this node serves no model 'churn'");
    assertStatus(
        request("u1", 1)
            .setModel(ModelRef.newBuilder().setName("fraud").setAlias("canary"))
            .build(),
        Status.Code.NOT_FOUND,
        "no alias 'canary'");
    assertStatus(
        request("u1", 1).setModel(ModelRef.newBuilder().setName("fraud").setVersion(9)).build(),
        Status.Code.NOT_FOUND,
        "has not loaded version 9");
    assertStatus(
        request("u1", 1)
            .setModel(ModelRef.newBuilder().setName("fraud").setAlias("staging"))
            .build(),
        Status.Code.UNAVAILABLE,
        "is not loaded yet");
    assertStatus(
        request(null, 1).build(),
        Status.Code.INVALID_ARGUMENT,
        "entity_ids['user_id'] is required");
    assertStatus(
        request("u1", 1)
            .putRequestFeatures("age", Value.newBuilder().setLongValue(3).build())
            .build(),
        Status.Code.INVALID_ARGUMENT,
        "request_features['age'] is not a request-time input of fraud v1");
    assertStatus(
        request("u1", 1)
            .putRequestFeatures("amount", Value.newBuilder().setStringValue("ten").build())
            .build(),
        Status.Code.INVALID_ARGUMENT,
        "request_features['amount'] is the string 'ten'; models take numbers");
    assertStatus(
        request("u1", 1)
            .putRequestFeatures("amount", Value.newBuilder().setDoubleValue(1e308).build())
            .build(),
        Status.Code.INVALID_ARGUMENT,
        "request_features['amount'] is 1.0E308, beyond the model's 32-bit float input");
    assertStatus(
        request("u1", 1)
            .putRequestFeatures("amount", Value.newBuilder().setDoubleValue(-1e39).build())
            .build(),
        Status.Code.INVALID_ARGUMENT,
        "request_features['amount'] is -1.0E39, beyond the model's 32-bit float input");
    assertStatus(
        request("u1", 1)
            .putRequestFeatures("amount", Value.newBuilder().setBoolValue(true).build())
            .build(),
        Status.Code.INVALID_ARGUMENT,
        "request_features['amount'] is the boolean true; this input takes numbers");
    assertStatus(
        request("u1", 1).setModel(ModelRef.newBuilder().setName("m".repeat(100_000))).build(),
        Status.Code.INVALID_ARGUMENT,
        "model.name");
    // A pinned version is served while it is loaded.
    assertThat(
            stub()
                .predict(
                    request("u1", 1)
                        .setModel(ModelRef.newBuilder().setName("fraud").setVersion(1))
                        .build())
                .getModelVersion())
        .isEqualTo(1);
  }

  /** Prod serves v1 with v2 as its shadow, and the node has loaded both. */
  private void shadowV2() {
    node.serveWithShadow(1, 2);
  }

  /**
   * The server on gRPC's in-process transport, over the node's scorer, with a readiness the test
   * sets: health and Predict follow it.
   */
  @Test
  void healthIsNotServingAndPredictUnavailableWhileNotReady() throws Exception {
    AtomicBoolean caughtUp = new AtomicBoolean(true);
    String name = InProcessServerBuilder.generateName();
    List<Prediction> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (ScoringServer server =
        ScoringServer.start(
            ServerTransport.of(InProcessServerBuilder.forName(name), name),
            ScoringServer.Config.defaults("in-process"),
            new ScoringServer.Scoring(
                node.node.scorer(),
                logged::add,
                () ->
                    caughtUp.get()
                        ? ScoringServer.Readiness.READY
                        : ScoringServer.Readiness.notReady("the feature store is catching up"),
                Map::of,
                Node.CLOCK),
            new io.prometheus.metrics.model.registry.PrometheusRegistry())) {
      ManagedChannel channel = InProcessChannelBuilder.forName(server.address()).build();
      try {
        var health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
        var scoring = ScoringGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
        HealthCheckRequest service =
            HealthCheckRequest.newBuilder().setService("streamscore.v1.Scoring").build();
        await()
            .atMost(Duration.ofSeconds(10))
            .until(
                () ->
                    health.check(service).getStatus() == HealthCheckResponse.ServingStatus.SERVING);

        caughtUp.set(false);
        await()
            .atMost(Duration.ofSeconds(10))
            .until(
                () ->
                    health.check(service).getStatus()
                        == HealthCheckResponse.ServingStatus.NOT_SERVING);
        assertThatThrownBy(() -> scoring.predict(request("u1", 1).build()))
            .isInstanceOfSatisfying(
                StatusRuntimeException.class,
                e -> {
                  assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                  assertThat(e.getStatus().getDescription()).contains("catching up");
                });
        assertThat(logged).isEmpty();

        caughtUp.set(true);
        await()
            .atMost(Duration.ofSeconds(10))
            .until(
                () ->
                    health.check(service).getStatus() == HealthCheckResponse.ServingStatus.SERVING);
        assertThat(scoring.predict(request("u1", 1).build()).getModelVersion()).isEqualTo(1);
        assertThat(logged).hasSize(1);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void aServerConfiguredToLogInputsLogsEachPredictionWithItsVector() throws Exception {
    String name = InProcessServerBuilder.generateName();
    List<Prediction> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (ScoringServer server =
        ScoringServer.start(
            ServerTransport.of(InProcessServerBuilder.forName(name), name),
            ScoringServer.Config.defaults("in-process").withInputLog(ScoringServer.InputLog.ON),
            new ScoringServer.Scoring(
                node.node.scorer(),
                logged::add,
                () -> ScoringServer.Readiness.READY,
                Map::of,
                Node.CLOCK),
            new io.prometheus.metrics.model.registry.PrometheusRegistry())) {
      ManagedChannel channel = InProcessChannelBuilder.forName(server.address()).build();
      try {
        PredictResponse answer =
            ScoringGrpc.newBlockingStub(channel)
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .predict(request("u1", 7).setIncludeFeatures(true).build());

        assertThat(answer.getFeaturesList()).containsExactly(5.0, 30.0, 7.0);
        assertThat(logged)
            .singleElement()
            .satisfies(p -> assertThat(p.getFeaturesList()).containsExactly(5.0, 30.0, 7.0));
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
    // The node's own server logs none by default.
    stub().predict(request("u1", 7).build());
    await().atMost(Duration.ofSeconds(10)).until(() -> !node.logged.isEmpty());
    assertThat(node.logged.peek().getFeaturesCount()).isZero();
  }

  /** The node's own readiness: it answers once its replica caught up and a model serves. */
  @Test
  void theNodeIsServingOnceAModelServes() {
    var health = HealthGrpc.newBlockingStub(node.channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                health.check(HealthCheckRequest.getDefaultInstance()).getStatus()
                    == HealthCheckResponse.ServingStatus.SERVING);
    assertThat(
            health
                .check(
                    HealthCheckRequest.newBuilder()
                        .setService("streamscore.v1.Scoring/fraud:prod")
                        .build())
                .getStatus())
        .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
  }

  @Test
  void aStreamAnswersEveryRequestByIdAndABadOneDoesNotEndIt() throws Exception {
    int n = 2_000;
    Map<String, PredictResponse> answers = new ConcurrentHashMap<>();
    CountDownLatch done = new CountDownLatch(1);
    StreamObserver<PredictRequest> requests =
        ScoringGrpc.newStub(node.channel)
            .predictStream(
                new StreamObserver<>() {
                  @Override
                  public void onNext(PredictResponse r) {
                    answers.put(r.getRequestId(), r);
                  }

                  @Override
                  public void onError(Throwable t) {
                    done.countDown();
                  }

                  @Override
                  public void onCompleted() {
                    done.countDown();
                  }
                });
    for (int i = 0; i < n; i++) {
      PredictRequest.Builder r = request(i % 2 == 0 ? "u1" : "u" + i, i).setRequestId("s" + i);
      if (i == 1_000) {
        r.putRequestFeatures("bogus", Value.newBuilder().setDoubleValue(1).build());
      }
      requests.onNext(r.build());
    }
    requests.onCompleted();
    assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();

    assertThat(answers).hasSize(n);
    assertThat(answers.get("s1000").getError().getCode())
        .isEqualTo(Status.Code.INVALID_ARGUMENT.value());
    assertThat(answers.get("s1000").getError().getMessage()).contains("request_features['bogus']");
    assertThat(answers.values().stream().filter(a -> !a.hasError()).count()).isEqualTo(n - 1);
    assertThat(answers.get("s2").getScoresCount()).isEqualTo(2);
    assertThat(node.logged).hasSize(n - 1);
  }

  @Test
  void aShadowVersionIsScoredAndLoggedButNeverReturned() throws Exception {
    node.client.register(
        TestModels.logisticRegression(dir.resolve("v2.onnx"), 3, 2),
        Node.spec(MissingPolicy.MISSING_POLICY_USE_DEFAULT));
    shadowV2();

    for (int i = 0; i < 20; i++) {
      assertThat(stub().predict(request("u1", i).setRequestId("q" + i).build()).getModelVersion())
          .isEqualTo(1);
    }
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> node.logged.stream().filter(Prediction::getShadow).count() == 20);
    List<Prediction> shadows = node.logged.stream().filter(Prediction::getShadow).toList();
    assertThat(shadows).allSatisfy(p -> assertThat(p.getModelVersion()).isEqualTo(2));
    assertThat(shadows.stream().map(Prediction::getRequestId)).contains("q0", "q19");
  }

  private void assertStatus(PredictRequest request, Status.Code code, String message) {
    assertThatThrownBy(() -> stub().predict(request))
        .satisfies(e -> assertThat(code(e)).isEqualTo(code))
        .hasMessageContaining(message);
  }

  private static Status.Code code(Throwable e) {
    return ((StatusRuntimeException) e).getStatus().getCode();
  }
}
