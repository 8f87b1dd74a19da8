package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.kafka.TopicReader;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.security.DevCertificates;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.FeatureServiceGrpc;
import dev.streamscore.proto.v1.FeatureStatus;
import dev.streamscore.proto.v1.GetOnlineFeaturesRequest;
import dev.streamscore.proto.v1.GetOnlineFeaturesResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The platform against a Kafka cluster that requires SASL_SSL (SCRAM-SHA-256): {@code streamscore
 * up --kafka ... --kafka-config FILE} validates, runs the Flink or Spark job (given the same file),
 * fills the store and scores every event on the stream, and {@code produce} publishes, all through
 * the secured listener; the same with the Spark job; without the file nothing gets through.
 */
class SaslSslPlatformIT {
  private final Launcher launcher = new Launcher();

  @AfterEach
  void killLeftovers() {
    launcher.killAll();
  }

  @ParameterizedTest
  @ValueSource(strings = {"flink", "spark"})
  void ingestEtlStoreAndStreamScoringWorkEndToEndOnASaslSslCluster(String engine, @TempDir Path dir)
      throws Exception {
    Path certs = dir.resolve("certs");
    DevCertificates.init(certs, List.of(), Clock.systemUTC());
    EmbeddedKafkaConfig.SaslSsl sasl =
        new EmbeddedKafkaConfig.SaslSsl(
            certs.resolve("server.pem"),
            certs.resolve("server.key"),
            certs.resolve("ca.pem"),
            "streamscore",
            "kafka-s3cret");
    try (EmbeddedKafka kafka =
        EmbeddedKafka.start(EmbeddedKafkaConfig.defaults().withSaslSsl(sasl))) {
      String bootstrap = kafka.bootstrapServers();
      Path config = dir.resolve("kafka-client.properties");
      Files.writeString(
          config,
          sasl.clientSettings().entrySet().stream()
              .map(e -> e.getKey() + "=" + e.getValue().replace("\\", "\\\\"))
              .collect(Collectors.joining("\n", "", "\n")));

      // Without the settings the platform cannot reach the cluster, and says so in one line.
      CliRun refused = CliRun.of("produce", "--kafka", bootstrap, "-n", "1", "--rate", "0");
      assertThat(refused.code()).isEqualTo(1);
      assertThat(refused.err()).contains("--kafka-config").hasLineCount(1);
      Path wrongPassword =
          Files.writeString(
              dir.resolve("wrong.properties"),
              Files.readString(config).replace("kafka-s3cret", "not-the-password"));
      CliRun wrong =
          CliRun.of(
              "up",
              "--kafka",
              bootstrap,
              "--kafka-config",
              wrongPassword.toString(),
              "--ingest-port",
              "0",
              "--features-port",
              "0",
              "--registry-port",
              "0",
              "--scoring-port",
              "0",
              "--metrics-port",
              "0",
              "--console-port",
              "0");
      assertThat(wrong.code()).isEqualTo(1);
      assertThat(wrong.err())
          .startsWith("streamscore: Kafka at " + bootstrap + " refused us: ")
          .contains("invalid credentials")
          .endsWith("; check --kafka-config\n");
      Path unsafe = Files.writeString(dir.resolve("unsafe.properties"), "acks=0\n");
      CliRun notConnection =
          CliRun.of("produce", "--kafka", bootstrap, "--kafka-config", unsafe.toString());
      assertThat(notConnection.err())
          .isEqualTo(
              "streamscore: "
                  + unsafe
                  + ": 'acks' is not a connection setting; the file may set security.*, sasl.*,"
                  + " ssl.*, client.dns.lookup, connections.max.idle.ms, reconnect.backoff.max.ms,"
                  + " reconnect.backoff.ms, socket.connection.setup.timeout.max.ms,"
                  + " socket.connection.setup.timeout.ms\n");

      Launcher.Running up =
          launcher.upOn(
              bootstrap,
              dir.resolve("data"),
              "--kafka-config",
              config.toString(),
              "--engine",
              engine,
              "--stream-scoring",
              "fraud:prod");
      assertThat(up.awaitLine("ready", Duration.ofSeconds(180)))
          .as(String.join("\n", up.stderr()))
          .isTrue();
      RoleCommandsIT.registerAndPromote(up.endpoint("registry").orElseThrow(), dir, "fraud");

      CliRun produced =
          CliRun.of(
              "produce",
              "--kafka",
              bootstrap,
              "--kafka-config",
              config.toString(),
              "-n",
              "400",
              "--rate",
              "0",
              "--invalid-rate",
              "0.05",
              "--seed",
              "24");
      assertThat(produced.code()).as(produced.err()).isZero();

      Map<String, Object> client = kafka.clientProperties();
      // Every raw record got its outcome: an event or a dead letter.
      await()
          .atMost(Duration.ofMinutes(2))
          .pollInterval(Duration.ofSeconds(1))
          .until(() -> Ledger.outcomes(client).size() >= 400);
      assertThat(Ledger.outcomes(client)).hasSize(400);
      long events = TopicReader.readAll(client, "events.payments", Duration.ofMinutes(1), r -> {});
      assertThat(events).isBetween(300L, 399L);

      // The ETL job (its own JVM, given the same file) wrote feature rows through SASL_SSL.
      List<String> entities = new ArrayList<>();
      await()
          .atMost(Duration.ofMinutes(3))
          .pollInterval(Duration.ofSeconds(1))
          .until(
              () -> {
                entities.clear();
                TopicReader.readAll(
                    client,
                    "features.user_txn",
                    Duration.ofMinutes(1),
                    r -> {
                      try {
                        entities.add(FeatureRow.parseFrom(r.value()).getEntityId());
                      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                        throw new AssertionError(e);
                      }
                    });
                return !entities.isEmpty();
              });
      // ... which the store materialized: the FeatureService answers for them.
      ManagedChannel channel =
          NettyChannelBuilder.forTarget(up.endpoint("features").orElseThrow())
              .usePlaintext()
              .build();
      try {
        String entity = entities.get(0);
        await()
            .atMost(Duration.ofMinutes(1))
            .untilAsserted(
                () -> {
                  GetOnlineFeaturesResponse r =
                      FeatureServiceGrpc.newBlockingStub(channel)
                          .withDeadlineAfter(10, TimeUnit.SECONDS)
                          .getOnlineFeatures(
                              GetOnlineFeaturesRequest.newBuilder()
                                  .addEntityIds(entity)
                                  .addFeatures("user_txn:txn_count_1h")
                                  .build());
                  assertThat(r.getEntities(0).getValues(0).getStatus())
                      .isEqualTo(FeatureStatus.FEATURE_STATUS_OK);
                  assertThat(r.getEntities(0).getValues(0).getValue().getLongValue()).isPositive();
                });
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }

      // Stream scoring (Kafka Streams, exactly once) scored every event once.
      await()
          .atMost(Duration.ofMinutes(3))
          .pollInterval(Duration.ofSeconds(1))
          .until(() -> Ledger.streamPredictions(client, "fraud").size() >= events);
      List<String> scored = Ledger.streamPredictions(client, "fraud");
      assertThat(scored).hasSize((int) events);
      assertThat(new HashSet<>(scored)).hasSize((int) events);
    }
  }
}
