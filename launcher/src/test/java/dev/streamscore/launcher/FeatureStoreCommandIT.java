package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.Replay;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.featurestore.FeatureTopics;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.v1.FeatureServiceGrpc;
import dev.streamscore.proto.v1.GetOnlineFeaturesRequest;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code streamscore feature-store}: a standalone replica of an existing cluster's feature topics.
 */
class FeatureStoreCommandIT {
  private final Launcher launcher = new Launcher();

  @AfterEach
  void killLeftovers() {
    launcher.killAll();
  }

  @Test
  void replicatesTheFeatureTopicsAndServesThemOverGrpc(@TempDir Path dataDir) throws Exception {
    FeatureSpec spec = FeatureSpec.shippedPayments();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Admin admin = Admin.create(kafka.clientProperties());
        KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(
                kafka.clientProperties(), new ByteArraySerializer(), new ByteArraySerializer())) {
      FeatureTopics.ensure(admin, spec, Duration.ofSeconds(30));
      Replay replay = new Replay(spec, "payments");
      long t0 = 1_764_000_000_000L;
      // 12 events of u7 within 12 s, so the count at t0 + 60 s is 12.
      FeatureRows.send(producer, FeatureRows.payments(replay, 12, t0, i -> "u7"));

      Launcher.Running node =
          launcher.start(
              "feature-store",
              "--kafka",
              kafka.bootstrapServers(),
              "--port",
              "0",
              "--data-dir",
              dataDir.toString());
      assertThat(node.awaitLine("ready", Duration.ofSeconds(60))).isTrue();
      ManagedChannel channel =
          NettyChannelBuilder.forTarget(node.endpoint("features").orElseThrow())
              .usePlaintext()
              .build();
      try {
        var stub = FeatureServiceGrpc.newBlockingStub(channel);
        var request =
            GetOnlineFeaturesRequest.newBuilder()
                .addFeatures("user_txn:txn_count_1h")
                .addEntityIds("u7")
                .setAsOfMs(t0 + 60_000)
                .build();
        await()
            .atMost(Duration.ofSeconds(30))
            .ignoreException(StatusRuntimeException.class) // UNAVAILABLE while bootstrapping
            .until(
                () ->
                    stub.getOnlineFeatures(request)
                        .getEntities(0)
                        .getValues(0)
                        .getValue()
                        .getLongValue(),
                n -> n == 12);
      } finally {
        channel.shutdownNow();
      }
      node.process.destroy(); // SIGTERM
      assertThat(node.awaitExit(Duration.ofSeconds(20))).isEqualTo(143);
      assertThat(dataDir.resolve("feature-store")).isDirectory();
    }
  }

  @Test
  void saysInOneLineWhichTopicIsMissing(@TempDir Path dataDir) throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults())) {
      Launcher.Running node =
          launcher.start("feature-store", "--kafka", kafka.bootstrapServers(), "--port", "0");
      assertThat(node.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
      assertThat(node.errors())
          .containsExactly(
              "streamscore: cannot start the feature store: topic "
                  + FeatureSpec.shippedPayments().views().values().stream()
                      .map(ViewSpec::topic)
                      .findFirst()
                      .orElseThrow()
                  + " does not exist");
    }
  }
}
