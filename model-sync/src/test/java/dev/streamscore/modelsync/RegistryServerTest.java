package dev.streamscore.modelsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.proto.v1.AliasChange;
import dev.streamscore.proto.v1.AliasState;
import dev.streamscore.proto.v1.DataLineage;
import dev.streamscore.proto.v1.ModelRegistryGrpc;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.NodeStatus;
import dev.streamscore.proto.v1.PartitionRange;
import dev.streamscore.proto.v1.ReferenceProfile;
import dev.streamscore.proto.v1.SearchTrial;
import dev.streamscore.proto.v1.TrafficPolicy;
import dev.streamscore.proto.v1.TrafficSplit;
import dev.streamscore.proto.v1.TrainingRun;
import dev.streamscore.proto.v1.WatchEvent;
import dev.streamscore.proto.v1.WatchRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RegistryServerTest {
  @TempDir Path dir;
  private Fixtures.Registry registry;
  private ManagedChannel channel;
  private RegistryClient client;

  @BeforeEach
  void start() {
    use(Fixtures.Registry.start(dir.resolve("registry"), Optional.empty(), "alice"));
  }

  private void use(Fixtures.Registry started) {
    registry = started;
    channel = started.channel();
    client = started.client();
  }

  @AfterEach
  void stop() throws Exception {
    registry.close();
  }

  private Path model(String file, float constant) throws Exception {
    return TestModels.constant(dir.resolve(file), 3, constant);
  }

  /** A {@code fraud} spec of {@code width} inputs with a reference profile of made-up values. */
  private static ModelVersionSpec profiled(int width) {
    ModelVersionSpec spec = Fixtures.spec("fraud", width, 1);
    ReferenceProfile.Builder profile = ReferenceProfile.newBuilder().setSource("test rows");
    for (int i = 0; i < width; i++) {
      double[] values = new double[200];
      for (int r = 0; r < values.length; r++) {
        values[r] = (r * 31 + i) % (i == 0 ? 3 : 97);
      }
      profile.addInputs(Profiles.distribution(spec.getInputs(i).getName(), values, null));
    }
    profile.addOutputs(Profiles.distribution("out0", new double[] {0.1, 0.2, 0.9}, null));
    return spec.toBuilder().setProfile(profile).build();
  }

  @Test
  void versionsCountUpPerNameAndArtifactsAreStoredUnderTheirSha256() throws Exception {
    Path artifact = model("a.onnx", 1f);
    ModelVersion v1 = client.register(artifact, Fixtures.spec("fraud", 3, 1));
    ModelVersion v2 = client.register(model("b.onnx", 2f), Fixtures.spec("fraud", 3, 1));
    ModelVersion other = client.register(artifact, Fixtures.spec("churn", 3, 1));

    assertThat(List.of(v1.getVersion(), v2.getVersion(), other.getVersion()))
        .containsExactly(1L, 2L, 1L);
    assertThat(v1.getCreatedBy()).isEqualTo("alice");
    assertThat(v1.getSizeBytes()).isEqualTo(Files.size(artifact));
    assertThat(other.getSha256()).isEqualTo(v1.getSha256());
    Path stored = dir.resolve("registry/artifacts/sha256").resolve(v1.getSha256());
    assertThat(Files.readAllBytes(stored)).isEqualTo(Files.readAllBytes(artifact));
    assertThat(client.list("").stream().map(m -> m.getName())).containsExactly("churn", "fraud");
    assertThat(client.model("fraud").getVersionsList()).containsExactly(v1, v2);
  }

  @Test
  void aliasesKeepAnAuditHistoryAndRollbackWalksBackThroughIt() throws Exception {
    for (int i = 1; i <= 3; i++) {
      client.register(model(i + ".onnx", i), Fixtures.spec("fraud", 3, 1));
    }
    client.promote("fraud", "prod", 1);
    client.promote("fraud", "prod", 2);
    AliasState canary =
        client.setAlias(
            "fraud",
            "prod",
            TrafficPolicy.newBuilder().addSplits(split(2, 90)).addSplits(split(3, 10)).build(),
            "canary v3");

    AliasState back = client.rollback("fraud", "prod", "v3 is slow");
    assertThat(back.getPolicy().getSplitsList()).containsExactly(split(2, 1));
    assertThat(back.getRevision()).isGreaterThan(canary.getRevision());
    assertThat(client.rollback("fraud", "prod", "").getPolicy().getSplitsList())
        .containsExactly(split(1, 1));
    assertThatThrownBy(() -> client.rollback("fraud", "prod", ""))
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.FAILED_PRECONDITION))
        .hasMessageContaining("no earlier policy");

    List<AliasChange> history = client.history("fraud", "prod", 0);
    assertThat(history.stream().map(AliasChange::getReason))
        .containsExactly("rollback", "rollback: v3 is slow", "canary v3", "promote", "promote");
    assertThat(history.get(2).getFrom().getSplitsList()).containsExactly(split(2, 1));
    assertThat(history.get(2).getBy()).isEqualTo("alice");
    assertThat(history.get(4).hasFrom()).isFalse();
    assertThat(client.history("fraud", "prod", 2)).hasSize(2);
  }

  @Test
  void badRequestsGetSpecificStatusesNamingTheField() throws Exception {
    Path artifact = model("a.onnx", 1f);
    client.register(artifact, Fixtures.spec("fraud", 3, 1));

    assertThatThrownBy(() -> client.register(artifact, Fixtures.spec("Bad Name", 3, 1)))
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.INVALID_ARGUMENT))
        .hasMessageContaining("spec.name");
    assertThatThrownBy(() -> client.register(artifact, Fixtures.spec("fraud", 0, 1)))
        .hasMessageContaining("spec.inputs must name at least one input");
    assertThatThrownBy(
            () ->
                client.register(
                    artifact,
                    Fixtures.spec("fraud", 3, 1).toBuilder().setPositiveOutput("p").build()))
        .hasMessageContaining("spec.positive_output 'p' is not one of spec.outputs");
    ModelVersionSpec unfit = profiled(3).toBuilder().setName("fraud").build();
    assertThatThrownBy(
            () ->
                client.register(
                    artifact,
                    unfit.toBuilder()
                        .setProfile(unfit.getProfile().toBuilder().removeInputs(2))
                        .build()))
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.INVALID_ARGUMENT))
        .hasMessageContaining("spec.profile.inputs has 2 distributions for 3 inputs");
    assertThatThrownBy(() -> client.promote("fraud", "prod", 7))
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.NOT_FOUND))
        .hasMessageContaining("policy.splits: model 'fraud' has versions 1..1, not 7");
    assertThatThrownBy(() -> client.promote("nope", "prod", 1))
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.NOT_FOUND))
        .hasMessageContaining("no model named 'nope'");
    AliasState prod = client.promote("fraud", "prod", 1);
    var stale = ModelRegistryGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
    assertThatThrownBy(
            () ->
                stale.setAlias(
                    dev.streamscore.proto.v1.SetAliasRequest.newBuilder()
                        .setModel("fraud")
                        .setAlias("prod")
                        .setPolicy(prod.getPolicy())
                        .setExpectedRevision(prod.getRevision() - 1)
                        .build()))
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.ABORTED));
    assertThatThrownBy(() -> client.promote("m".repeat(100_000), "prod", 1))
        .satisfies(
            e -> assertThat(code(e)).isIn(Status.Code.NOT_FOUND, Status.Code.INVALID_ARGUMENT))
        .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(1_100));
    assertThatThrownBy(() -> client.register(artifact, Fixtures.spec("m".repeat(100_000), 3, 1)))
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.INVALID_ARGUMENT))
        .hasMessageContaining("spec.name");
    // A node cannot report serving what the registry does not have.
    var node = ModelRegistryGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
    NodeStatus fake =
        NodeStatus.newBuilder()
            .setNodeId("n1")
            .setModel("fraud")
            .setAlias("prod")
            .addServingVersions(999)
            .build();
    assertThatThrownBy(() -> node.reportNodeStatus(fake))
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.INVALID_ARGUMENT))
        .hasMessageContaining("serving_versions: model 'fraud' has no version 999 (it has 1 to 1)");
    assertThatThrownBy(
            () ->
                node.reportNodeStatus(
                    fake.toBuilder().setModel("nope").clearServingVersions().build()))
        .hasMessageContaining("model 'nope' is not registered");
    assertThat(client.nodeStatuses("fraud")).isEmpty();
    // Nothing refused changed anything.
    assertThat(client.model("fraud").getVersionsCount()).isEqualTo(1);
    assertThat(client.history("fraud", "", 0)).hasSize(1);
  }

  @Test
  void writesNeedTheTokenWhenOneIsConfiguredButReadsDoNot() throws Exception {
    stop();
    use(Fixtures.Registry.start(dir.resolve("secured"), Optional.of("s3cret"), "alice"));
    RegistryClient anonymous = new RegistryClient(channel, Optional.empty(), "mallory");
    RegistryClient wrong = new RegistryClient(channel, Optional.of("guess"), "mallory");
    RegistryClient owner = new RegistryClient(channel, Optional.of("s3cret"), "alice");
    Path artifact = model("a.onnx", 1f);

    assertThatThrownBy(() -> anonymous.register(artifact, Fixtures.spec("fraud", 3, 1)))
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.UNAUTHENTICATED));
    assertThatThrownBy(() -> wrong.register(artifact, Fixtures.spec("fraud", 3, 1)))
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.UNAUTHENTICATED))
        .hasMessageContaining("the token is not known");
    owner.register(artifact, Fixtures.spec("fraud", 3, 1));
    assertThatThrownBy(() -> anonymous.promote("fraud", "prod", 1))
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.UNAUTHENTICATED));
    assertThatThrownBy(() -> anonymous.recordRun(artifact, run("fraud")))
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.UNAUTHENTICATED));
    assertThatThrownBy(() -> anonymous.registerFromRun("run-000000000000"))
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.UNAUTHENTICATED));
    assertThat(anonymous.list("")).hasSize(1);
  }

  private static TrainingRun run(String model) {
    return TrainingRun.newBuilder()
        .setModel(model)
        .setAlgorithm("logistic-regression")
        .putParameters("learning_rate", "0.5")
        .putMetrics("heldout_auc", 0.91)
        .setSpec(Fixtures.spec(model, 3, 1).toBuilder().putMetrics("auc", 0.91))
        .setLineage(
            DataLineage.newBuilder()
                .setTopic("events.payments")
                .addRanges(
                    PartitionRange.newBuilder().setPartition(0).setFromOffset(0).setToOffset(500))
                .setRows(500)
                .setLabelRate(0.02)
                .setLabel("payments.is_fraud"))
        .addTrials(
            SearchTrial.newBuilder()
                .putParameters("learning_rate", "0.1")
                .putValidation("auc", 0.88))
        .addTrials(
            SearchTrial.newBuilder()
                .putParameters("learning_rate", "0.5")
                .putValidation("auc", 0.9)
                .setBest(true))
        .setStartedAtMs(1_000)
        .setDurationMs(2_000)
        .build();
  }

  @Test
  void runsAreRecordedWithTheirArtifactListedAndRegisteredAsVersionsThatNameThem()
      throws Exception {
    Path artifact = model("run.onnx", 1f);
    TrainingRun recorded = client.recordRun(artifact, run("fraud"));
    assertThat(recorded.getId()).matches("run-[0-9a-f]{12}");
    assertThat(recorded.getBy()).isEqualTo("alice");
    assertThat(recorded.getSizeBytes()).isEqualTo(Files.size(artifact));
    assertThat(recorded.getSha256()).hasSize(64);
    client.recordRun(model("other.onnx", 2f), run("churn"));

    assertThat(client.runs("fraud")).containsExactly(recorded.toBuilder().clearTrials().build());
    assertThat(client.runs("")).hasSize(2);
    assertThat(client.run(recorded.getId())).isEqualTo(recorded);
    assertThat(client.run(recorded.getId()).getTrialsCount()).isEqualTo(2);

    ModelVersion v = client.registerFromRun(recorded.getId());
    assertThat(v.getVersion()).isEqualTo(1);
    assertThat(v.getSpec().getRunId()).isEqualTo(recorded.getId());
    assertThat(v.getSha256()).isEqualTo(recorded.getSha256());
    assertThat(v.getSpec().getMetricsMap()).containsEntry("auc", 0.91);

    // Survives a restart from the journal; nodes watching see no event for a run.
    stop();
    use(Fixtures.Registry.start(dir.resolve("registry"), Optional.empty(), "bob"));
    assertThat(client.run(recorded.getId())).isEqualTo(recorded);
    assertThat(client.model("fraud").getVersionsList()).containsExactly(v);

    assertThatThrownBy(() -> client.run("run-000000000000"))
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.NOT_FOUND))
        .hasMessageContaining("no run with id 'run-000000000000'");
    assertThatThrownBy(() -> client.registerFromRun("nope"))
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.NOT_FOUND));
    for (var bad :
        Map.of(
                run("fraud").toBuilder().setId("run-1").build(), "run.id is set by the registry",
                run("fraud").toBuilder().setModel("churn").build(), "run.model 'churn' is not",
                run("fraud").toBuilder().putMetrics("heldout_auc", Double.NaN).build(),
                    "run.metrics['heldout_auc'] must be finite",
                run("fraud").toBuilder()
                        .setLineage(
                            run("fraud").getLineage().toBuilder()
                                .setRanges(
                                    0, PartitionRange.newBuilder().setFromOffset(9).setToOffset(3)))
                        .build(),
                    "run.lineage.ranges[0]",
                run("fraud").toBuilder().setAlgorithm("").build(), "run.algorithm")
            .entrySet()) {
      assertThatThrownBy(() -> client.recordRun(artifact, bad.getKey()))
          .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.INVALID_ARGUMENT))
          .hasMessageContaining(bad.getValue());
    }
    assertThat(client.runs("")).hasSize(2);
  }

  @Test
  void everythingSurvivesARestartFromTheJournal() throws Exception {
    client.register(model("a.onnx", 1f), Fixtures.spec("fraud", 3, 1));
    ModelVersion profiled = client.register(model("b.onnx", 2f), profiled(3));
    assertThat(profiled.getSpec().getProfile()).isEqualTo(profiled(3).getProfile());
    client.promote("fraud", "prod", 1);
    AliasState before = client.promote("fraud", "prod", 2);
    var modelBefore = client.model("fraud");
    var historyBefore = client.history("fraud", "", 0);

    stop();
    use(Fixtures.Registry.start(dir.resolve("registry"), Optional.empty(), "bob"));

    assertThat(client.model("fraud")).isEqualTo(modelBefore);
    assertThat(client.history("fraud", "", 0)).isEqualTo(historyBefore);
    assertThat(client.rollback("fraud", "prod", "").getRevision())
        .isEqualTo(before.getRevision() + 1);
    assertThat(client.register(model("c.onnx", 3f), Fixtures.spec("fraud", 3, 1)).getVersion())
        .isEqualTo(3);
  }

  @Test
  void watchersGetTheCurrentAliasesThenEachChangeInRevisionOrder() throws Exception {
    client.register(model("a.onnx", 1f), Fixtures.spec("fraud", 3, 1));
    client.register(model("b.onnx", 2f), Fixtures.spec("fraud", 3, 1));
    AliasState first = client.promote("fraud", "prod", 1);
    var stub = ModelRegistryGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    Iterator<WatchEvent> events = stub.watch(WatchRequest.newBuilder().addModels("fraud").build());
    assertThat(events.next().getAlias()).isEqualTo(first);

    AliasState second = client.promote("fraud", "prod", 2);
    client.register(model("c.onnx", 3f), Fixtures.spec("other", 3, 1)); // filtered out
    ModelVersion v3 = client.register(model("d.onnx", 4f), Fixtures.spec("fraud", 3, 1));

    assertThat(events.next().getAlias()).isEqualTo(second);
    WatchEvent registered = events.next();
    assertThat(registered.getVersion()).isEqualTo(v3);
    assertThat(registered.getRevision()).isGreaterThan(second.getRevision());
  }

  private static TrafficSplit split(long version, int weight) {
    return TrafficSplit.newBuilder().setVersion(version).setWeight(weight).build();
  }

  private static Status.Code code(Throwable e) {
    return ((StatusRuntimeException) e).getStatus().getCode();
  }
}
