package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.security.ClientSecurity;
import dev.streamscore.proto.security.ClientTls;
import dev.streamscore.proto.security.Rpcs;
import dev.streamscore.proto.v1.FeatureServiceGrpc;
import dev.streamscore.proto.v1.IngestGrpc;
import dev.streamscore.proto.v1.ModelRegistryGrpc;
import dev.streamscore.proto.v1.PythonTools;
import dev.streamscore.proto.v1.ScoringGrpc;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code streamscore up} with TLS, optional client certificates and the access policy {@code
 * streamscore certs init} made: every rpc of every service with every kind of credential, the
 * models CLI over TLS, and Debian's python3-grpcio scoring over TLS and mutual TLS.
 */
class SecuredPlatformIT {
  private static final Path PROTO_DIR =
      Path.of(System.getProperty("streamscore.proto.dir", "../proto/src/main/proto"))
          .toAbsolutePath()
          .normalize();
  private static final List<String> CREDENTIALS =
      List.of("none", "wrong token", "wrong role", "right role (token)", "right role (cert)");

  @TempDir static Path dir;
  private static final Launcher launcher = new Launcher();
  private static Launcher.Running up;
  private static Path certs;

  @BeforeAll
  static void startSecuredPlatform() throws Exception {
    certs = dir.resolve("certs");
    CliRun init = CliRun.of("certs", "init", certs.toString());
    assertThat(init.code()).as(init.err()).isZero();
    assertThat(init.out()).contains("access.policy");
    up =
        launcher.up(
            Launcher.freePort(),
            dir.resolve("data"),
            Stream.concat(
                    Stream.of("--engine", "none"), SecuredRolesIT.serverOptions(certs).stream())
                .toArray(String[]::new));
    assertThat(up.awaitLine("ready", Duration.ofSeconds(90))).isTrue();
  }

  @AfterAll
  static void stop() {
    launcher.killAll();
  }

  @Test
  void everyRpcRefusesMissingWrongAndUnderprivilegedCredentialsAndServesTheRightRole()
      throws Exception {
    Map<String, String> servers =
        Map.of(
            IngestGrpc.SERVICE_NAME, up.endpoint("ingest").orElseThrow(),
            FeatureServiceGrpc.SERVICE_NAME, up.endpoint("features").orElseThrow(),
            ScoringGrpc.SERVICE_NAME, up.endpoint("scoring").orElseThrow(),
            ModelRegistryGrpc.SERVICE_NAME, up.endpoint("registry").orElseThrow());
    StringBuilder table = new StringBuilder("| rpc | role |");
    CREDENTIALS.forEach(c -> table.append(' ').append(c).append(" |"));
    table.append("\n|---|---|").append("---|".repeat(CREDENTIALS.size())).append('\n');
    List<String> unexpected = new ArrayList<>();
    for (ServiceDescriptor service :
        List.of(
            IngestGrpc.getServiceDescriptor(),
            FeatureServiceGrpc.getServiceDescriptor(),
            ScoringGrpc.getServiceDescriptor(),
            ModelRegistryGrpc.getServiceDescriptor())) {
      String address = servers.get(service.getName());
      for (MethodDescriptor<?, ?> method : service.getMethods()) {
        Rpcs.Rule rule = Rpcs.rule(method.getFullMethodName()).orElseThrow();
        String right = rule instanceof Rpcs.Needs needs ? needs.role().label() : "scorer";
        String wrong = right.equals("reader") ? "scorer" : "reader";
        Map<String, ClientSecurity> as = new LinkedHashMap<>();
        as.put("none", new ClientSecurity(Optional.of(trusting()), Optional.empty()));
        as.put("wrong token", new ClientSecurity(Optional.of(trusting()), Optional.of("guess")));
        as.put("wrong role", new ClientSecurity(Optional.of(trusting()), token(wrong)));
        as.put("right role (token)", new ClientSecurity(Optional.of(trusting()), token(right)));
        as.put(
            "right role (cert)", new ClientSecurity(Optional.of(mutual(right)), Optional.empty()));
        table
            .append("| `")
            .append(method.getBareMethodName())
            .append("` | ")
            .append(rule instanceof Rpcs.Needs ? right : "any role")
            .append(" |");
        for (String credential : CREDENTIALS) {
          Status status = call(address, method, as.get(credential));
          Status.Code code = status.getCode();
          boolean expected =
              switch (credential) {
                case "none", "wrong token" -> code == Status.Code.UNAUTHENTICATED;
                case "wrong role" ->
                    rule instanceof Rpcs.Needs
                        ? code == Status.Code.PERMISSION_DENIED
                        : passed(status);
                default -> passed(status);
              };
          if (!expected) {
            unexpected.add(method.getFullMethodName() + " / " + credential + ": " + code);
          }
          table.append(' ').append(code).append(expected ? "" : " (UNEXPECTED)").append(" |");
        }
        table.append('\n');
      }
    }
    Files.writeString(Path.of("target", "security-table.md"), table);
    assertThat(unexpected).as(table.toString()).isEmpty();
  }

  @Test
  void theModelsCliRegistersAndPromotesOverTlsAndTheHistoryNamesTheIdentity() throws Exception {
    Path model = TestModels.logisticRegression(dir.resolve("cli.onnx"), 3, 1);
    String registry = up.endpoint("registry").orElseThrow();
    List<String> tls = List.of("--tls-ca", certs.resolve("ca.pem").toString());
    CliRun refused =
        models(registry, tls, "register", model.toString(), "--name", "cli", "--inputs", "a,b,c");
    assertThat(refused.code()).isEqualTo(1);
    assertThat(refused.err())
        .startsWith("streamscore: UNAUTHENTICATED: Register needs the publisher role")
        .hasLineCount(1);

    List<String> publisher = new ArrayList<>(tls);
    publisher.addAll(List.of("--token-file", certs.resolve("publisher.token").toString()));
    CliRun registered =
        models(
            registry,
            publisher,
            "register",
            model.toString(),
            "--name",
            "cli",
            "--inputs",
            "a,b,c");
    assertThat(registered.code()).as(registered.err()).isZero();

    CliRun notOperator = models(registry, publisher, "promote", "cli", "1");
    assertThat(notOperator.err())
        .startsWith("streamscore: PERMISSION_DENIED: SetAlias needs the operator role;")
        .contains("'publisher-token' has publisher");

    List<String> operator = new ArrayList<>(tls);
    operator.addAll(
        List.of(
            "--tls-client-cert",
            certs.resolve("operator.pem").toString(),
            "--tls-client-key",
            certs.resolve("operator.key").toString()));
    CliRun promoted = models(registry, operator, "promote", "cli", "1");
    assertThat(promoted.code()).as(promoted.err()).isZero();
    CliRun history = models(registry, operator, "history", "cli");
    assertThat(history.out()).contains("by operator");

    CliRun plaintext = models(registry, List.of(), "list");
    assertThat(plaintext.code()).isEqualTo(1);
    assertThat(plaintext.err()).startsWith("streamscore: UNAVAILABLE").hasLineCount(1);
  }

  @Test
  void pythonGrpcioScoresOverTlsWithATokenAndOverMutualTls() throws Exception {
    PythonTools.requireGrpcTools();
    Path stubs = Files.createDirectories(dir.resolve("stubs"));
    PythonTools.generateStubs(PROTO_DIR, stubs);
    Path model = TestModels.logisticRegression(dir.resolve("py.onnx"), 3, 7);
    String registry = up.endpoint("registry").orElseThrow();
    List<String> admin =
        List.of(
            "--tls-ca",
            certs.resolve("ca.pem").toString(),
            "--tls-client-cert",
            certs.resolve("publisher.pem").toString(),
            "--tls-client-key",
            certs.resolve("publisher.key").toString());
    registerPyfraud(registry, admin, model);
    List<String> operator =
        List.of(
            "--tls-ca",
            certs.resolve("ca.pem").toString(),
            "--token-file",
            certs.resolve("operator.token").toString());
    assertThat(models(registry, operator, "promote", "pyfraud", "1").code()).isZero();

    String script =
        String.join(
            "\n",
            "import sys, grpc",
            "from streamscore.v1 import scoring_pb2, scoring_pb2_grpc",
            "certs = sys.argv[2]",
            "read = lambda name: open(certs + '/' + name, 'rb').read()",
            "if sys.argv[3] == 'mtls':",
            "    creds = grpc.ssl_channel_credentials(read('ca.pem'), read('scorer.key'),"
                + " read('scorer.pem'))",
            "    metadata = ()",
            "else:",
            "    creds = grpc.ssl_channel_credentials(read('ca.pem'))",
            "    metadata = (('authorization', 'Bearer ' + read('scorer.token').decode().strip()),)",
            "stub = scoring_pb2_grpc.ScoringStub(grpc.secure_channel(sys.argv[1], creds))",
            "r = scoring_pb2.PredictRequest(request_id='py-' + sys.argv[3])",
            "r.model.name = 'pyfraud'",
            "r.entity_ids['user_id'] = 'u1'",
            "r.request_features['amount'].double_value = 12.5",
            "resp = stub.Predict(r, timeout=10, metadata=metadata)",
            "print(resp.request_id, resp.model_version, len(resp.scores))");
    Path file = Files.writeString(stubs.resolve("tls_client.py"), script);
    String scoring = up.endpoint("scoring").orElseThrow();
    for (String mode : List.of("token", "mtls")) {
      List<String> out =
          await()
              .atMost(Duration.ofSeconds(60))
              .ignoreExceptions()
              .until(
                  () ->
                      PythonTools.run(
                          List.of(
                              PythonTools.PYTHON.toString(),
                              file.toString(),
                              scoring,
                              certs.toString(),
                              mode),
                          stubs),
                  lines -> lines.size() == 1);
      assertThat(out.get(0)).isEqualTo("py-" + mode + " 1 2");
    }

    // v2's artifact changed in the registry's store after registration: the node refuses it,
    // says why in models show, and keeps answering with v1.
    Path v2 = TestModels.logisticRegression(dir.resolve("py2.onnx"), 3, 8);
    registerPyfraud(registry, admin, v2);
    String sha = sha256(v2);
    Path stored = dir.resolve("data/registry/artifacts/sha256").resolve(sha);
    byte[] bytes = Files.readAllBytes(stored);
    bytes[bytes.length / 2] ^= (byte) 0xff;
    Files.write(stored, bytes);
    assertThat(models(registry, operator, "promote", "pyfraud", "2").code()).isZero();
    await()
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(
            () ->
                assertThat(models(registry, operator, "show", "pyfraud").out())
                    .contains("failed serving [1]")
                    .contains("sha256 mismatch"));
    List<String> after =
        PythonTools.run(
            List.of(
                PythonTools.PYTHON.toString(), file.toString(), scoring, certs.toString(), "mtls"),
            stubs);
    assertThat(after).containsExactly("py-mtls 1 2");
  }

  /** Registers {@code model} as the next version of pyfraud, over the three inputs it takes. */
  private static void registerPyfraud(String registry, List<String> security, Path model) {
    CliRun registered =
        models(
            registry,
            security,
            "register",
            model.toString(),
            "--name",
            "pyfraud",
            "--inputs",
            "user_txn:txn_count_1h,user_txn:amount_max_10m,amount",
            "--outputs",
            "p_legit,p_fraud");
    assertThat(registered.code()).as(registered.err()).isZero();
  }

  private static String sha256(Path file) throws Exception {
    return java.util.HexFormat.of()
        .formatHex(
            java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }

  @Test
  void theConsoleAndTheMetricsEndpointServeHttpsWithTheSameCertificate() throws Exception {
    String metrics = up.endpoint("metrics").orElseThrow();
    String console = up.endpoint("console").orElseThrow();
    assertThat(metrics).startsWith("https://127.0.0.1:").endsWith("/metrics");
    assertThat(console).startsWith("https://127.0.0.1:");
    java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (var in = Files.newInputStream(certs.resolve("ca.pem"))) {
      trust.setCertificateEntry(
          "ca", java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    javax.net.ssl.TrustManagerFactory tmf =
        javax.net.ssl.TrustManagerFactory.getInstance(
            javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    java.net.http.HttpClient client =
        java.net.http.HttpClient.newBuilder()
            .sslContext(context)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    var scraped =
        client.send(
            java.net.http.HttpRequest.newBuilder(java.net.URI.create(metrics)).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(scraped.statusCode()).isEqualTo(200);
    assertThat(scraped.body()).contains("streamscore_");
    var page =
        client.send(
            java.net.http.HttpRequest.newBuilder(java.net.URI.create(console + "/")).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(page.statusCode()).isEqualTo(200);
    // Plain HTTP to the same port gets no page.
    java.net.http.HttpClient plain =
        java.net.http.HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    String insecure = metrics.replace("https://", "http://");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                plain.send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create(insecure))
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(java.io.IOException.class);
  }

  private static CliRun models(String registry, List<String> security, String... args) {
    List<String> all = new ArrayList<>(List.of("models", args[0], "--registry", registry));
    all.addAll(security);
    all.addAll(List.of(args).subList(1, args.length));
    return CliRun.of(all.toArray(String[]::new));
  }

  /**
   * Passed the access check: whatever the service then answers to an empty request (the scoring
   * service's UNAVAILABLE "no model is loaded yet" included), but no failure of the connection
   * itself, which gRPC reports as UNAVAILABLE with a cause.
   */
  private static boolean passed(Status status) {
    return status.getCode() != Status.Code.UNAUTHENTICATED
        && status.getCode() != Status.Code.PERMISSION_DENIED
        && !(status.getCode() == Status.Code.UNAVAILABLE && status.getCause() != null);
  }

  private static ClientTls trusting() {
    return ClientTls.trusting(certs.resolve("ca.pem"));
  }

  private static ClientTls mutual(String role) {
    return ClientTls.mutual(
        certs.resolve("ca.pem"), certs.resolve(role + ".pem"), certs.resolve(role + ".key"));
  }

  private static Optional<String> token(String role) throws Exception {
    return Optional.of(Files.readString(certs.resolve(role + ".token")).strip());
  }

  /**
   * One call of {@code method} with its request type's empty message: the status it ends with, or
   * OK once a streaming call has answered (a watch never ends by itself).
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Status call(String address, MethodDescriptor<?, ?> method, ClientSecurity security)
      throws Exception {
    ManagedChannel channel = security.channel(address).build();
    try {
      MethodDescriptor.Marshaller<?> requests = method.getRequestMarshaller();
      Object empty = ((MethodDescriptor.PrototypeMarshaller) requests).getMessagePrototype();
      MethodDescriptor<Object, Object> m = (MethodDescriptor<Object, Object>) method;
      ClientCall<Object, Object> call =
          channel.newCall(m, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS));
      CompletableFuture<Status> done = new CompletableFuture<>();
      call.start(
          new ClientCall.Listener<>() {
            @Override
            public void onMessage(Object message) {
              done.complete(Status.OK);
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
              done.complete(status);
            }
          },
          new Metadata());
      call.request(1);
      call.sendMessage(empty);
      call.halfClose();
      Status status = done.get(10, TimeUnit.SECONDS);
      call.cancel("done", null);
      return status;
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
