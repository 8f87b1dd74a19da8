package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.security.ClientSecurity;
import dev.streamscore.proto.security.ClientTls;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.PredictResponse;
import dev.streamscore.proto.v1.ScoringGrpc;
import dev.streamscore.proto.v1.Value;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The roles as separate processes, secured: a registry and a scoring node that each serve TLS and
 * check the access policy, the node calling the registry over TLS with the node role's token and
 * loading only versions the registry's key signed.
 */
class SecuredRolesIT {
  private final Launcher launcher = new Launcher();

  @AfterEach
  void killLeftovers() {
    launcher.killAll();
  }

  @Test
  void aSecuredRegistryAndScoringNodeServeOnlyTheRightRoles(@TempDir Path dir) throws Exception {
    Path certs = dir.resolve("certs");
    assertThat(CliRun.of("certs", "init", certs.toString()).code()).isZero();
    List<String> serverTls = serverOptions(certs);
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        org.apache.kafka.clients.admin.Admin admin =
            org.apache.kafka.clients.admin.Admin.create(kafka.clientProperties())) {
      dev.streamscore.featurestore.FeatureTopics.ensure(
          admin, dev.streamscore.etl.FeatureSpec.shippedPayments(), Duration.ofSeconds(30));
      List<String> registryArgs =
          new ArrayList<>(
              List.of("registry", "--port", "0", "--data-dir", dir.resolve("reg").toString()));
      registryArgs.addAll(serverTls);
      Launcher.Running registry = launcher.start(registryArgs.toArray(String[]::new));
      assertThat(registry.awaitLine("ready", Duration.ofSeconds(60))).isTrue();
      String registryAddress = registry.endpoint("registry").orElseThrow();

      List<String> nodeArgs =
          new ArrayList<>(
              List.of(
                  "scoring-node",
                  "--kafka",
                  kafka.bootstrapServers(),
                  "--registry",
                  registryAddress,
                  "--node-id",
                  "secured-1",
                  "--port",
                  "0",
                  "--metrics-port",
                  "0",
                  "--console-port",
                  "0",
                  "--data-dir",
                  dir.resolve("node").toString(),
                  "--tls-ca",
                  certs.resolve("ca.pem").toString(),
                  "--token-file",
                  certs.resolve("node.token").toString(),
                  "--model-signing-key",
                  dir.resolve("reg/registry/signing/ed25519.pub").toString()));
      nodeArgs.addAll(serverTls);
      Launcher.Running node = launcher.start(nodeArgs.toArray(String[]::new));
      assertThat(node.awaitLine("ready", Duration.ofSeconds(90)))
          .as(String.join("\n", node.stderr()))
          .isTrue();

      Path model =
          dev.streamscore.modelsync.TestModels.logisticRegression(dir.resolve("m.onnx"), 2, 1);
      List<String> publisher =
          List.of(
              "--registry",
              registryAddress,
              "--tls-ca",
              certs.resolve("ca.pem").toString(),
              "--token-file",
              certs.resolve("publisher.token").toString());
      List<String> operator =
          List.of(
              "--registry",
              registryAddress,
              "--tls-ca",
              certs.resolve("ca.pem").toString(),
              "--tls-client-cert",
              certs.resolve("operator.pem").toString(),
              "--tls-client-key",
              certs.resolve("operator.key").toString());
      assertThat(
              models(
                      publisher,
                      "register",
                      model.toString(),
                      "--name",
                      "fraud",
                      "--inputs",
                      "user_txn:txn_count_1h,amount",
                      "--outputs",
                      "p0,p1")
                  .code())
          .isZero();
      assertThat(models(operator, "promote", "fraud", "1").code()).isZero();

      String scoring = node.endpoint("scoring").orElseThrow();
      ManagedChannel scorer =
          new ClientSecurity(
                  Optional.of(ClientTls.trusting(certs.resolve("ca.pem"))),
                  Optional.of(Files.readString(certs.resolve("scorer.token")).strip()))
              .channel(scoring)
              .build();
      ManagedChannel reader =
          new ClientSecurity(
                  Optional.of(
                      ClientTls.mutual(
                          certs.resolve("ca.pem"),
                          certs.resolve("reader.pem"),
                          certs.resolve("reader.key"))),
                  Optional.empty())
              .channel(scoring)
              .build();
      try {
        PredictRequest request =
            PredictRequest.newBuilder()
                .setRequestId("r1")
                .setModel(ModelRef.newBuilder().setName("fraud"))
                .putEntityIds("user_id", "u1")
                .putRequestFeatures("amount", Value.newBuilder().setDoubleValue(12.5).build())
                .build();
        PredictResponse answer =
            await()
                .atMost(Duration.ofSeconds(60))
                .ignoreExceptions()
                .until(
                    () ->
                        ScoringGrpc.newBlockingStub(scorer)
                            .withDeadlineAfter(10, TimeUnit.SECONDS)
                            .predict(request),
                    r -> r.getModelVersion() == 1);
        assertThat(answer.getScoresCount()).isEqualTo(2);
        StatusRuntimeException denied =
            org.junit.jupiter.api.Assertions.assertThrows(
                StatusRuntimeException.class,
                () ->
                    ScoringGrpc.newBlockingStub(reader)
                        .withDeadlineAfter(10, TimeUnit.SECONDS)
                        .predict(request));
        assertThat(denied.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(denied.getStatus().getDescription())
            .isEqualTo("Predict needs the scorer role; 'reader' has reader");
      } finally {
        scorer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        reader.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      // The node's status reports went through with its token: the registry names it.
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> assertThat(models(operator, "show", "fraud").out()).contains("node secured-1"));
    }
  }

  /**
   * A server's options for TLS with optional client certificates and the access policy, from a
   * directory {@code certs init} made.
   */
  static List<String> serverOptions(Path certs) {
    return List.of(
        "--tls-cert",
        certs.resolve("server.pem").toString(),
        "--tls-key",
        certs.resolve("server.key").toString(),
        "--tls-client-ca",
        certs.resolve("ca.pem").toString(),
        "--access",
        certs.resolve("access.policy").toString());
  }

  private static CliRun models(List<String> connection, String verb, String... args) {
    List<String> all = new ArrayList<>(List.of("models", verb));
    all.addAll(connection);
    all.addAll(List.of(args));
    return CliRun.of(all.toArray(String[]::new));
  }
}
