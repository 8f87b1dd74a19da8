package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.NodeStatus;
import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.PredictResponse;
import dev.streamscore.proto.v1.ScoringGrpc;
import dev.streamscore.proto.v1.SyncState;
import dev.streamscore.proto.v1.Value;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A broken version of one model never changes what another model serves, nor what it served. */
class ModelIsolationIT {
  private static final String SCORING = "streamscore.v1.Scoring";

  private static ModelVersionSpec spec(String name) {
    return ModelVersionSpec.newBuilder()
        .setName(name)
        .setFormat(ModelFormat.MODEL_FORMAT_ONNX)
        .addInputs(
            ModelInput.newBuilder()
                .setName("user_txn:txn_count_1h")
                .setView("user_txn")
                .setDefaultValue(0))
        .addInputs(
            ModelInput.newBuilder()
                .setName("user_txn:amount_sum_1h")
                .setView("user_txn")
                .setDefaultValue(0))
        .addInputs(ModelInput.newBuilder().setName("amount").setDefaultValue(50))
        .addOutputs(ModelOutput.newBuilder().setName("p0"))
        .addOutputs(ModelOutput.newBuilder().setName("p1"))
        .build();
  }

  private static PredictResponse predict(ManagedChannel channel, String model) {
    return ScoringGrpc.newBlockingStub(channel)
        .withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS)
        .predict(
            PredictRequest.newBuilder()
                .setModel(ModelRef.newBuilder().setName(model).setAlias("prod"))
                .putEntityIds("user_id", "u1")
                .putRequestFeatures("amount", Value.newBuilder().setDoubleValue(12).build())
                .build());
  }

  private static ServingStatus health(ManagedChannel channel, String service) {
    return HealthGrpc.newBlockingStub(channel)
        .check(HealthCheckRequest.newBuilder().setService(service).build())
        .getStatus();
  }

  private static boolean failed(RegistryClient registry, String model, long attempted) {
    return registry.nodeStatuses(model).stream()
        .anyMatch(
            s ->
                s.getState() == SyncState.SYNC_STATE_FAILED
                    && s.getAttemptedRevision() >= attempted);
  }

  @Test
  void aBrokenVersionOfOneModelNeverChangesWhatAnotherServesBeforeOrAfterARestart(@TempDir Path dir)
      throws Exception {
    PlatformConfig config = PlatformConfig.anyPorts(Optional.empty(), Optional.of(dir));
    Path good = TestModels.logisticRegression(dir.resolve("good.onnx"), 3, 1);
    Path broken = TestModels.failsAtRunTime(dir.resolve("broken.onnx"), 3);

    try (Platform platform = Platform.start(config, Clock.systemUTC());
        Connections c = new Connections(platform)) {
      c.registry.register(good, spec("fraud"));
      c.registry.promote("fraud", "prod", 1);
      await()
          .atMost(Duration.ofSeconds(60))
          .ignoreExceptions()
          .until(() -> predict(c.scoring, "fraud").getModelVersion() == 1);

      c.registry.register(broken, spec("other"));
      long otherRevision = c.registry.promote("other", "prod", 1).getRevision();
      c.registry.register(broken, spec("fraud"));
      long fraudRevision = c.registry.promote("fraud", "prod", 2).getRevision();
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () ->
                  failed(c.registry, "other", otherRevision)
                      && failed(c.registry, "fraud", fraudRevision));

      assertIsolated(c);
      NodeStatus fraud = c.registry.nodeStatuses("fraud").get(0);
      assertThat(fraud.getServingVersionsList()).containsExactly(1L);
      assertThat(fraud.getError().getMessage()).isNotBlank();
    }

    try (Platform platform = Platform.start(config, Clock.systemUTC());
        Connections c = new Connections(platform)) {
      // After a restart the node falls back to the last version it served for fraud/prod.
      await()
          .atMost(Duration.ofSeconds(90))
          .ignoreExceptions()
          .until(() -> predict(c.scoring, "fraud").getModelVersion() == 1);
      assertIsolated(c);
    }
  }

  private static void assertIsolated(Connections c) {
    assertThat(predict(c.scoring, "fraud").getModelVersion()).isEqualTo(1);
    assertThatThrownBy(() -> predict(c.scoring, "other"))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
              assertThat(e.getStatus().getDescription())
                  .startsWith("model 'other' alias 'prod' is not loaded yet");
            });
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              assertThat(health(c.scoring, "")).isEqualTo(ServingStatus.SERVING);
              assertThat(health(c.scoring, SCORING)).isEqualTo(ServingStatus.SERVING);
              assertThat(health(c.scoring, SCORING + "/fraud")).isEqualTo(ServingStatus.SERVING);
              assertThat(health(c.scoring, SCORING + "/fraud:prod"))
                  .isEqualTo(ServingStatus.SERVING);
              assertThat(health(c.scoring, SCORING + "/other"))
                  .isEqualTo(ServingStatus.NOT_SERVING);
            });
  }

  /** Channels to one platform's registry and scoring service. */
  private static final class Connections implements AutoCloseable {
    final ManagedChannel registryChannel;
    final ManagedChannel scoring;
    final RegistryClient registry;

    Connections(Platform platform) {
      registryChannel =
          NettyChannelBuilder.forTarget(platform.endpoints().registry()).usePlaintext().build();
      scoring =
          NettyChannelBuilder.forTarget(platform.endpoints().scoring().orElseThrow())
              .usePlaintext()
              .build();
      registry = new RegistryClient(registryChannel, Optional.empty(), "test");
    }

    @Override
    public void close() {
      registryChannel.shutdownNow();
      scoring.shutdownNow();
    }
  }
}
