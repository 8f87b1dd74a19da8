package dev.streamscore.proto.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.v1.ModelRegistryGrpc;
import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.PredictResponse;
import dev.streamscore.proto.v1.ScoringGrpc;
import dev.streamscore.proto.v1.SetAliasRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real Netty server with TLS and the access check, called over loopback. */
class SecureServerTest {
  @TempDir static Path certs;
  @TempDir Path tmp;

  private final List<ServerTransport.Listening> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final AtomicReference<String> lastCaller = new AtomicReference<>();

  @BeforeAll
  static void makeCertificates() {
    DevCertificates.init(certs, List.of(), Clock.systemUTC());
  }

  @AfterEach
  void stop() throws InterruptedException {
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    servers.forEach(s -> s.stop(Duration.ZERO));
  }

  @Test
  void theRightRoleOverTlsIsServedAndTheIdentityReachesTheService() throws Exception {
    String address = start(tls(false), new PolicyFile(certs.resolve("access.policy")));
    PredictResponse r =
        scoring(address, ClientTls.trusting(ca()), token("scorer")).predict(request());
    assertThat(r.getRequestId()).isEqualTo("r1");
    assertThat(lastCaller.get()).isEqualTo("scorer-token");
  }

  @Test
  void everyWrongCredentialIsRefusedWithItsOwnStatus() throws Exception {
    String address = start(tls(false), new PolicyFile(certs.resolve("access.policy")));
    assertThat(status(() -> scoring(address, ClientTls.trusting(ca()), Optional.empty())))
        .satisfies(s -> assertThat(s.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED))
        .satisfies(s -> assertThat(s.getDescription()).contains("Predict needs the scorer role"));
    assertThat(status(() -> scoring(address, ClientTls.trusting(ca()), Optional.of("not-a-token"))))
        .satisfies(s -> assertThat(s.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED))
        .satisfies(s -> assertThat(s.getDescription()).contains("the token is not known"));
    assertThat(status(() -> scoring(address, ClientTls.trusting(ca()), token("reader"))))
        .satisfies(s -> assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED))
        .satisfies(
            s ->
                assertThat(s.getDescription())
                    .isEqualTo("Predict needs the scorer role; 'reader-token' has reader"));
    // The operator passes the check; this server has no registry to answer it.
    ModelRegistryGrpc.ModelRegistryBlockingStub registry =
        ModelRegistryGrpc.newBlockingStub(
            channel(address, ClientTls.trusting(ca()), token("operator")));
    assertThatThrownBy(() -> registry.setAlias(SetAliasRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));
  }

  @Test
  void healthIsOpenWithoutCredentials() throws Exception {
    String address = start(tls(true), new PolicyFile(certs.resolve("access.policy")));
    // mTLS required: even health needs a certificate the CA signed, but no role.
    ManagedChannel c = channel(address, mutual("reader"), Optional.empty());
    HealthCheckResponse r =
        HealthGrpc.newBlockingStub(c)
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .check(HealthCheckRequest.getDefaultInstance());
    assertThat(r.getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
  }

  @Test
  void mutualTlsNamesTheCallerByItsCertificate() throws Exception {
    String address = start(tls(true), new PolicyFile(certs.resolve("access.policy")));
    scoring(address, mutual("scorer"), Optional.empty()).predict(request());
    assertThat(lastCaller.get()).isEqualTo("scorer");
    assertThat(status(() -> scoring(address, mutual("node"), Optional.empty())))
        .satisfies(s -> assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
    // Without a client certificate the handshake itself fails.
    assertThat(status(() -> scoring(address, ClientTls.trusting(ca()), token("scorer"))))
        .satisfies(s -> assertThat(s.getCode()).isEqualTo(Status.Code.UNAVAILABLE));
  }

  @Test
  void aCertificateFromAnotherCaAndPlaintextAreRefused() throws Exception {
    Path other = tmp.resolve("other");
    DevCertificates.init(other, List.of(), Clock.systemUTC());
    String address = start(tls(true), new PolicyFile(certs.resolve("access.policy")));
    ClientTls foreign =
        ClientTls.mutual(ca(), other.resolve("scorer.pem"), other.resolve("scorer.key"));
    assertThat(status(() -> scoring(address, foreign, Optional.empty())).getCode())
        .isEqualTo(Status.Code.UNAVAILABLE);
    ClientTls trustsOther = ClientTls.trusting(other.resolve("ca.pem"));
    assertThat(status(() -> scoring(address, trustsOther, token("scorer"))).getCode())
        .isEqualTo(Status.Code.UNAVAILABLE);
    ScoringGrpc.ScoringBlockingStub plain =
        ScoringGrpc.newBlockingStub(
                track(
                    ClientSecurity.plaintext().withToken(token("scorer")).channel(address).build()))
            .withDeadlineAfter(10, TimeUnit.SECONDS);
    assertThatThrownBy(() -> plain.predict(request()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
  }

  @Test
  void aChangedPolicyFileTakesEffectAndABrokenOneKeepsThePolicyBefore() throws Exception {
    Path policy = tmp.resolve("access.policy");
    Files.copy(certs.resolve("access.policy"), policy);
    String address = start(tls(false), new PolicyFile(policy));
    assertThat(status(() -> scoring(address, ClientTls.trusting(ca()), token("reader"))).getCode())
        .isEqualTo(Status.Code.PERMISSION_DENIED);

    Files.writeString(
        policy,
        Files.readString(policy)
            .replace("reader-token     reader", "reader-token     reader,scorer"));
    await()
        .ignoreExceptions()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () -> scoring(address, ClientTls.trusting(ca()), token("reader")).predict(request()));
  }

  @Test
  void aRenewedServerCertificateIsServedWithoutARestart() throws Exception {
    Path served = tmp.resolve("served");
    Files.createDirectories(served);
    Files.copy(certs.resolve("server.pem"), served.resolve("server.pem"));
    Files.copy(certs.resolve("server.key"), served.resolve("server.key"));
    String address =
        start(
            ServerTls.of(served.resolve("server.pem"), served.resolve("server.key")),
            AccessPolicy::open);
    Path renewed = tmp.resolve("renewed");
    DevCertificates.init(renewed, List.of(), Clock.systemUTC());
    ClientTls trustsRenewed = ClientTls.trusting(renewed.resolve("ca.pem"));
    assertThat(status(() -> scoring(address, trustsRenewed, Optional.empty())).getCode())
        .isEqualTo(Status.Code.UNAVAILABLE);

    Files.copy(
        renewed.resolve("server.key"),
        served.resolve("server.key"),
        StandardCopyOption.REPLACE_EXISTING);
    Files.copy(
        renewed.resolve("server.pem"),
        served.resolve("server.pem"),
        StandardCopyOption.REPLACE_EXISTING);
    await()
        .ignoreExceptions()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              // A new channel each time: a connection made before the renewal keeps its session.
              scoring(address, trustsRenewed, Optional.empty()).predict(request());
            });
  }

  @Test
  void plaintextOffLoopbackNeedsInsecure() {
    ServerSecurity plaintext = ServerSecurity.open();
    assertThatThrownBy(() -> ServerTransport.tcp("0.0.0.0", 0, plaintext))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("refusing to serve plaintext on 0.0.0.0")
        .hasMessageContaining("--insecure");
    ServerTransport insecure =
        ServerTransport.tcp(
            "0.0.0.0", 0, new ServerSecurity(Optional.empty(), AccessPolicy::open, true));
    assertThat(insecure.host()).isEqualTo("0.0.0.0");
    ServerTransport loopback = ServerTransport.tcp("127.0.0.1", 0, plaintext);
    assertThat(loopback.host()).isEqualTo("127.0.0.1");
    ServerTransport tls =
        ServerTransport.tcp(
            "0.0.0.0", 0, new ServerSecurity(Optional.of(tls(false)), AccessPolicy::open, false));
    assertThat(tls.port()).isZero();
  }

  @Test
  void unreadableTlsFilesAreNamedAtStart() throws Exception {
    Path garbage = tmp.resolve("garbage.pem");
    Files.writeString(
        garbage, "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n");
    ServerSecurity bad =
        new ServerSecurity(
            Optional.of(ServerTls.of(garbage, certs.resolve("server.key"))),
            AccessPolicy::open,
            false);
    assertThatThrownBy(() -> ServerTransport.tcp("127.0.0.1", 0, bad))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("garbage.pem");
    ServerSecurity missing =
        new ServerSecurity(
            Optional.of(ServerTls.of(certs.resolve("server.pem"), tmp.resolve("absent.key"))),
            AccessPolicy::open,
            false);
    assertThatThrownBy(() -> ServerTransport.tcp("127.0.0.1", 0, missing))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("absent.key");
  }

  private ServerTls tls(boolean requireClientCertificate) {
    return new ServerTls(
        certs.resolve("server.pem"),
        certs.resolve("server.key"),
        Optional.of(ca()),
        requireClientCertificate);
  }

  private static Path ca() {
    return certs.resolve("ca.pem");
  }

  private static ClientTls mutual(String role) {
    return ClientTls.mutual(ca(), certs.resolve(role + ".pem"), certs.resolve(role + ".key"));
  }

  private static Optional<String> token(String role) throws java.io.IOException {
    return Optional.of(Files.readString(certs.resolve(role + ".token")).strip());
  }

  private String start(ServerTls tls, java.util.function.Supplier<AccessPolicy> policy) {
    HealthStatusManager health = new HealthStatusManager();
    ServerTransport t =
        ServerTransport.tcp("127.0.0.1", 0, new ServerSecurity(Optional.of(tls), policy, false));
    t.builder().addService(new Echo()).addService(health.getHealthService());
    ServerTransport.Listening listening = t.start();
    servers.add(listening);
    return listening.address();
  }

  private ManagedChannel channel(String address, ClientTls tls, Optional<String> token) {
    return track(new ClientSecurity(Optional.of(tls), token).channel(address).build());
  }

  private ManagedChannel track(ManagedChannel c) {
    channels.add(c);
    return c;
  }

  private ScoringGrpc.ScoringBlockingStub scoring(
      String address, ClientTls tls, Optional<String> token) {
    return ScoringGrpc.newBlockingStub(channel(address, tls, token))
        .withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private interface Call {
    Object run() throws Exception;
  }

  /** The status a predict through the stub {@code call} makes fails with. */
  private static Status status(Call stub) throws Exception {
    ScoringGrpc.ScoringBlockingStub s = (ScoringGrpc.ScoringBlockingStub) stub.run();
    try {
      s.predict(request());
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
    throw new AssertionError("the call succeeded");
  }

  private static PredictRequest request() {
    return PredictRequest.newBuilder().setRequestId("r1").build();
  }

  /** Answers with the request id and remembers who asked. */
  private final class Echo extends ScoringGrpc.ScoringImplBase {
    @Override
    public void predict(PredictRequest request, StreamObserver<PredictResponse> out) {
      lastCaller.set(AccessControl.caller().map(AccessPolicy.Identity::name).orElse("none"));
      out.onNext(PredictResponse.newBuilder().setRequestId(request.getRequestId()).build());
      out.onCompleted();
    }
  }
}
