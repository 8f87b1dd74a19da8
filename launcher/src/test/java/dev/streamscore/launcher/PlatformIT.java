package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.Replay;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.FeatureServiceGrpc;
import dev.streamscore.proto.v1.GetOnlineFeaturesRequest;
import dev.streamscore.proto.v1.GetOnlineFeaturesResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlatformIT {

  @Test
  void usesAnExternalClusterInsteadOfStartingABroker(@TempDir Path dir) {
    try (EmbeddedKafka external = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Platform platform =
            Platform.start(
                PlatformConfig.anyPorts(Optional.of(external.bootstrapServers()), Optional.of(dir)),
                Clock.systemUTC())) {
      assertThat(platform.endpoints().kafka()).isEqualTo(external.bootstrapServers());
      assertThat(dir.resolve("kafka")).doesNotExist();
    }
  }

  @Test
  void failsInOneSentenceWhenTheExternalClusterDoesNotAnswer(@TempDir Path dir) {
    var config =
        PlatformConfig.anyPorts(Optional.of("127.0.0.1:1"), Optional.of(dir))
            .withConnectTimeout(Duration.ofSeconds(2));

    assertThatThrownBy(() -> Platform.start(config, Clock.systemUTC()))
        .isInstanceOf(StartupException.class)
        .hasMessage(
            "Kafka at 127.0.0.1:1 did not answer within 2 s; check --kafka, that the cluster is"
                + " up, and --kafka-config if it is secured");
  }

  @Test
  void refusesASecondPlatformOnTheSameDataDirectory(@TempDir Path dir) {
    var config = PlatformConfig.anyPorts(Optional.empty(), Optional.of(dir));
    try (Platform first = Platform.start(config, Clock.systemUTC())) {
      assertThat(first.endpoints().byName()).containsKey("kafka");

      assertThatThrownBy(() -> Platform.start(config, Clock.systemUTC()))
          .isInstanceOf(StartupException.class)
          .hasMessageContaining("data directory " + dir.toAbsolutePath())
          .hasMessageContaining("in use");
    }
    // Released on close: a new platform may use it.
    try (Platform again = Platform.start(config, Clock.systemUTC())) {
      assertThat(again.dataDir().root()).isEqualTo(dir.toAbsolutePath());
    }
  }

  @Test
  void deletesATemporaryDataDirectoryOnClose() {
    var config = PlatformConfig.anyPorts(Optional.empty(), Optional.empty());
    Path root;
    try (Platform platform = Platform.start(config, Clock.systemUTC())) {
      root = platform.dataDir().root();
      assertThat(root.resolve("kafka")).isDirectory();
    }
    assertThat(root).doesNotExist();
  }

  @Test
  void materializesTheFeatureTopicsIntoTheNodesStore(@TempDir Path dir) throws Exception {
    var config = PlatformConfig.anyPorts(Optional.empty(), Optional.of(dir));
    FeatureSpec spec = FeatureSpec.shippedPayments();
    Replay replay = new Replay(spec, "payments");
    long t0 = 1_764_000_000_000L;
    List<FeatureRow> rows = FeatureRows.payments(replay, 30, t0, i -> "u" + (i % 3));
    try (Platform platform = Platform.start(config, Clock.systemUTC());
        KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(
                Map.of("bootstrap.servers", platform.endpoints().kafka()),
                new ByteArraySerializer(),
                new ByteArraySerializer())) {
      FeatureRows.send(producer, rows);
      long asOf = t0 + 60_000;
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  platform
                      .featureStore()
                      .value("user_txn:txn_count_1h", "u1", asOf)
                      .getValue()
                      .getLongValue(),
              n -> n == 10);
      assertThat(platform.featureStore().value("user_txn:amount_sum_1h", "u1", asOf))
          .isEqualTo(replay.valueAt("user_txn", "amount_sum_1h", "u1", asOf));
      assertThat(platform.materializer().lag()).isZero();

      String scraped =
          java.net.http.HttpClient.newHttpClient()
              .send(
                  java.net.http.HttpRequest.newBuilder(
                          java.net.URI.create(platform.endpoints().metrics()))
                      .build(),
                  java.net.http.HttpResponse.BodyHandlers.ofString())
              .body();
      assertThat(scraped)
          .contains("streamscore_feature_store_lag_rows 0.0")
          .contains("streamscore_feature_store_bootstrapping 0.0")
          .contains("streamscore_feature_store_rows_read_total " + rows.size() + ".0");

      // ... and serves them over gRPC.
      ManagedChannel channel =
          NettyChannelBuilder.forTarget(platform.endpoints().features().orElseThrow())
              .usePlaintext()
              .build();
      try {
        GetOnlineFeaturesResponse response =
            FeatureServiceGrpc.newBlockingStub(channel)
                .getOnlineFeatures(
                    GetOnlineFeaturesRequest.newBuilder()
                        .addFeatures("user_txn:txn_count_1h")
                        .addEntityIds("u1")
                        .setAsOfMs(asOf)
                        .build());
        assertThat(response.getEntities(0).getValues(0).getValue().getLongValue()).isEqualTo(10);
      } finally {
        channel.shutdownNow();
      }
    }
  }

  @Test
  void runsTheModelRegistryAndKeepsItsModelsAcrossARestart(@TempDir Path dir) throws Exception {
    var config = PlatformConfig.anyPorts(Optional.empty(), Optional.of(dir));
    Path model = dev.streamscore.modelsync.TestModels.constant(dir.resolve("m.onnx"), 2, 1f);
    var spec =
        dev.streamscore.proto.v1.ModelVersionSpec.newBuilder()
            .setName("fraud")
            .setFormat(dev.streamscore.proto.v1.ModelFormat.MODEL_FORMAT_ONNX)
            .addInputs(
                dev.streamscore.proto.v1.ModelInput.newBuilder().setName("user_txn:txn_count_1h"))
            .addInputs(dev.streamscore.proto.v1.ModelInput.newBuilder().setName("amount"))
            .addOutputs(dev.streamscore.proto.v1.ModelOutput.newBuilder().setName("score"))
            .build();
    try (Platform platform = Platform.start(config, Clock.systemUTC())) {
      withRegistry(
          platform,
          client -> {
            try {
              client.register(model, spec);
            } catch (java.io.IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
            client.promote("fraud", "prod", 1);
          });
    }
    try (Platform again = Platform.start(config, Clock.systemUTC())) {
      withRegistry(
          again,
          client -> {
            var fraud = client.model("fraud");
            assertThat(fraud.getVersionsCount()).isEqualTo(1);
            assertThat(fraud.getAliases(0).getPolicy().getSplits(0).getVersion()).isEqualTo(1);
          });
    }
  }

  private static void withRegistry(
      Platform platform, java.util.function.Consumer<dev.streamscore.modelsync.RegistryClient> use)
      throws InterruptedException {
    ManagedChannel channel =
        NettyChannelBuilder.forTarget(platform.endpoints().registry()).usePlaintext().build();
    try {
      use.accept(new dev.streamscore.modelsync.RegistryClient(channel, Optional.empty(), "ci"));
    } finally {
      channel.shutdownNow().awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  @Test
  void scoresOnMaterializedFeaturesOnceAModelIsPromotedAndLogsThePrediction(@TempDir Path dir)
      throws Exception {
    var config = PlatformConfig.anyPorts(Optional.empty(), Optional.of(dir));
    Path model =
        dev.streamscore.modelsync.TestModels.logisticRegression(dir.resolve("m.onnx"), 2, 1);
    var spec =
        dev.streamscore.proto.v1.ModelVersionSpec.newBuilder()
            .setName("fraud")
            .setFormat(dev.streamscore.proto.v1.ModelFormat.MODEL_FORMAT_ONNX)
            .addInputs(
                dev.streamscore.proto.v1.ModelInput.newBuilder()
                    .setName("user_txn:txn_count_1h")
                    .setView("user_txn"))
            .addInputs(dev.streamscore.proto.v1.ModelInput.newBuilder().setName("amount"))
            .addOutputs(dev.streamscore.proto.v1.ModelOutput.newBuilder().setName("p0"))
            .addOutputs(dev.streamscore.proto.v1.ModelOutput.newBuilder().setName("p1"))
            .build();
    Replay replay = new Replay(FeatureSpec.shippedPayments(), "payments");
    long t0 = System.currentTimeMillis() - 30_000;
    try (Platform platform = Platform.start(config, Clock.systemUTC());
        KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(
                Map.of("bootstrap.servers", platform.endpoints().kafka()),
                new ByteArraySerializer(),
                new ByteArraySerializer())) {
      ManagedChannel channel =
          NettyChannelBuilder.forTarget(platform.endpoints().scoring().orElseThrow())
              .usePlaintext()
              .build();
      try {
        var scoring =
            dev.streamscore.proto.v1.ScoringGrpc.newBlockingStub(channel)
                .withDeadlineAfter(30, java.util.concurrent.TimeUnit.SECONDS);
        var request =
            dev.streamscore.proto.v1.PredictRequest.newBuilder()
                .setRequestId("r1")
                .setModel(dev.streamscore.proto.v1.ModelRef.newBuilder().setName("fraud"))
                .putEntityIds("user_id", "u1")
                .putRequestFeatures(
                    "amount",
                    dev.streamscore.proto.v1.Value.newBuilder().setDoubleValue(40).build())
                .setIncludeFeatures(true)
                .build();
        // No model yet: UNAVAILABLE, saying what to do.
        assertThatThrownBy(() -> scoring.predict(request))
            .hasMessageContaining("UNAVAILABLE: no model is loaded yet");

        withRegistry(
            platform,
            client -> {
              try {
                client.register(model, spec);
              } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
              client.promote("fraud", "prod", 1);
            });
        FeatureRows.send(producer, FeatureRows.payments(replay, 7, t0, i -> "u1"));
        var response =
            await()
                .atMost(Duration.ofSeconds(30))
                .ignoreExceptions()
                .until(() -> scoring.predict(request), r -> r.getFeatures(0) == 7.0);
        assertThat(response.getModelVersion()).isEqualTo(1);
        assertThat(response.getFeaturesList()).containsExactly(7.0, 40.0);
        try (dev.streamscore.modelsync.OnnxModel offline =
            dev.streamscore.modelsync.OnnxModel.load(model)) {
          assertThat((float) response.getScores(1).getValue())
              .isEqualTo(offline.predict(new float[] {7, 40})[1]);
        }
      } finally {
        channel.shutdownNow().awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
      }

      // The prediction log has it, keyed by the entity.
      try (var consumer =
          new org.apache.kafka.clients.consumer.KafkaConsumer<String, byte[]>(
              Map.of(
                  "bootstrap.servers", platform.endpoints().kafka(),
                  "auto.offset.reset", "earliest",
                  "group.id", "it"),
              new org.apache.kafka.common.serialization.StringDeserializer(),
              new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
        consumer.subscribe(List.of("predictions.fraud"));
        List<dev.streamscore.proto.v1.Prediction> logged = new java.util.ArrayList<>();
        await()
            .atMost(Duration.ofSeconds(30))
            .until(
                () -> {
                  for (var r : consumer.poll(Duration.ofMillis(200))) {
                    assertThat(r.key()).isEqualTo("u1");
                    logged.add(dev.streamscore.proto.v1.Prediction.parseFrom(r.value()));
                  }
                  return logged.stream().anyMatch(p -> p.getRequestId().equals("r1"));
                });
        assertThat(logged).allSatisfy(p -> assertThat(p.getNodeId()).isEqualTo("local"));
      }
    }
  }
}
