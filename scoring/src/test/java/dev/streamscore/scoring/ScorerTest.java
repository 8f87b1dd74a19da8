package dev.streamscore.scoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.v1.MissingPolicy;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.Value;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scorer on its own, with neutral requests (no gRPC): version choice, input assembly, batches
 * and the reason each unscored request carries.
 */
class ScorerTest {
  private static final ModelRef PROD = ModelRef.newBuilder().setName("fraud").build();
  private static final ModelRef V2 = ModelRef.newBuilder().setName("fraud").setVersion(2).build();
  private static final long AS_OF = Node.T0 + 60_000;

  @TempDir Path dir;
  private Node node;
  private Scorer scorer;

  @BeforeEach
  void start() throws Exception {
    node = new Node(dir);
    node.payments("u1", 5); // count 5, mean of 10..50 = 30
    node.client.register(
        TestModels.logisticRegression(dir.resolve("v1.onnx"), 3, 1),
        Node.spec(MissingPolicy.MISSING_POLICY_USE_DEFAULT));
    node.client.register(
        TestModels.logisticRegression(dir.resolve("v2.onnx"), 3, 2),
        Node.spec(MissingPolicy.MISSING_POLICY_REJECT));
    node.serveWithShadow(1, 2); // requests can pin either
    scorer = node.node.scorer();
  }

  @AfterEach
  void stop() throws Exception {
    node.close();
  }

  private static ScoreRequest request(String id, String user, double amount, ModelRef model) {
    return new ScoreRequest(
        id,
        model,
        user == null ? Map.of() : Map.of("user_id", user),
        Map.of("amount", Value.newBuilder().setDoubleValue(amount).build()),
        ScoreRequest.ExtraFeatures.REFUSE);
  }

  @Test
  void aBatchAnswersEveryRequestAsItWouldBeAnsweredAlone() {
    List<ScoreRequest> batch =
        List.of(
            request("a", "u1", 75, PROD),
            request("b", "stranger", 10, PROD),
            request("c", "u1", 20, V2),
            request("d", "stranger", 20, V2),
            request("e", null, 1, PROD),
            request("f", "u1", 1, ModelRef.newBuilder().setName("x").build()),
            new ScoreRequest(
                "g",
                PROD,
                Map.of("user_id", "u1"),
                Map.of("amount", Value.newBuilder().setStringValue("ten").build()),
                ScoreRequest.ExtraFeatures.REFUSE),
            request(
                "h", "u1", 1, ModelRef.newBuilder().setName("fraud").setAlias("staging").build()),
            request("i", "u2", 30, PROD));

    List<Scorer.Outcome> together = scorer.score(batch, AS_OF, task -> {});

    assertThat(together).hasSameSizeAs(batch);
    for (int i = 0; i < batch.size(); i++) {
      String alone;
      try {
        alone = describe(scorer.score(batch.get(i), AS_OF, task -> {}));
      } catch (ScoringException e) {
        alone = e.reason() + ": " + e.getMessage();
      }
      Scorer.Outcome o = together.get(i);
      String inBatch =
          o.failure() == null
              ? describe(o.scored())
              : o.failure().reason() + ": " + o.failure().getMessage();
      assertThat(inBatch).as("request %s", batch.get(i).requestId()).isEqualTo(alone);
    }
    assertThat(together)
        .extracting(o -> o.failure() == null ? "OK" : o.failure().reason().name())
        .containsExactly(
            "OK",
            "OK",
            "OK",
            "FEATURE_UNAVAILABLE",
            "INVALID_REQUEST",
            "UNKNOWN_MODEL",
            "INVALID_REQUEST",
            "NOT_LOADED",
            "OK");
  }

  @Test
  void storedInputsAreReadForTheEntityAsOfTheGivenTime() {
    Scorer.Scored known = scorer.score(request("k", "u1", 60, PROD), AS_OF, task -> {});
    Scorer.Scored before = scorer.score(request("k", "u1", 60, PROD), Node.T0 - 1, task -> {});

    // txn_count_1h, amount_mean_1h, then the request's amount.
    assertThat(known.vector()).containsExactly(5f, 30f, 60f);
    assertThat(known.issues()).isEmpty();
    assertThat(known.prediction().getFeatureTimeMsMap())
        .containsKeys(Node.STORED.toArray(String[]::new));
    // Before the first payment: none counted, and no mean (its default, reported).
    assertThat(before.vector()).containsExactly(0f, -1f, 60f);
    assertThat(before.issues())
        .extracting(i -> i.getFeature() + " " + i.getStatus())
        .containsExactly("user_txn:amount_mean_1h missing");
    assertThat(known.prediction().getFeatureHash())
        .isNotEqualTo(before.prediction().getFeatureHash());
  }

  @Test
  void featuresTheModelDoesNotTakeAreRefusedOrIgnoredAsTheRequestSays() {
    Map<String, Value> withExtra = new HashMap<>();
    withExtra.put("amount", Value.newBuilder().setDoubleValue(10).build());
    withExtra.put("country", Value.newBuilder().setStringValue("US").build());

    assertThatThrownBy(
            () ->
                scorer.score(
                    new ScoreRequest(
                        "x",
                        PROD,
                        Map.of("user_id", "u1"),
                        withExtra,
                        ScoreRequest.ExtraFeatures.REFUSE),
                    AS_OF,
                    task -> {}))
        .isInstanceOfSatisfying(
            ScoringException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(ScoringException.Reason.INVALID_REQUEST);
              assertThat(e.getMessage()).contains("request_features['country']");
            });
    assertThat(
            scorer
                .score(
                    new ScoreRequest(
                        "y",
                        PROD,
                        Map.of("user_id", "u1"),
                        withExtra,
                        ScoreRequest.ExtraFeatures.IGNORE),
                    AS_OF,
                    task -> {})
                .vector())
        .containsExactly(5f, 30f, 10f);
  }

  @Test
  void aShadowTaskIsHandedOverForTheAliasThatNamesOne() {
    List<Scorer.ShadowTask> tasks = new java.util.ArrayList<>();
    Scorer.Scored live = scorer.score(request("s", "u1", 5, PROD), AS_OF, tasks::add);

    assertThat(live.prediction().getModelVersion()).isEqualTo(1);
    assertThat(tasks).singleElement().satisfies(t -> assertThat(t.alias()).isEqualTo("prod"));
    var shadow = scorer.scoreShadow(tasks.get(0)).orElseThrow();
    assertThat(shadow.getModelVersion()).isEqualTo(2);
    assertThat(shadow.getShadow()).isTrue();
    assertThat(shadow.getFeatureHash()).isEqualTo(live.prediction().getFeatureHash());
  }

  /** A scored request but for the time it took. */
  private static String describe(Scorer.Scored s) {
    return s.prediction().toBuilder().clearLatencyUs().build()
        + " issues="
        + s.issues()
        + " oldest="
        + s.oldestFeatureTimeMs()
        + " vector="
        + java.util.Arrays.toString(s.vector());
  }
}
