package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.RegistryServer;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.security.ClientSecurity;
import dev.streamscore.proto.security.ClientTls;
import dev.streamscore.proto.security.DevCertificates;
import dev.streamscore.proto.security.ServerTls;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The platform's own clients get through its servers' TLS, client-certificate rule and policy. */
class PlatformSecurityTest {
  @TempDir Path dir;

  @Test
  void underRequiredClientCertificatesThePlatformsOwnClientsStillGetThroughAndOthersDoNot()
      throws Exception {
    Path certs = dir.resolve("certs");
    DevCertificates.init(certs, List.of(), Clock.systemUTC());
    PlatformSecurity security =
        PlatformSecurity.of(
            "0.0.0.0",
            Optional.of(
                new ServerTls(
                    certs.resolve("server.pem"),
                    certs.resolve("server.key"),
                    Optional.of(certs.resolve("ca.pem")),
                    true)),
            Optional.of(certs.resolve("access.policy")),
            false);
    try (RegistryServer registry =
        RegistryServer.start(
            ServerTransport.tcp(security.host(), 0, security.server()),
            dir.resolve("registry"),
            Optional.empty(),
            Clock.systemUTC())) {
      // The wildcard address is reached on loopback, which the certificate names.
      String self = security.selfTarget(registry.address());
      assertThat(self).startsWith("127.0.0.1:");
      ManagedChannel own = security.self().channel(self).build();
      ManagedChannel tokenOnly =
          new ClientSecurity(
                  Optional.of(ClientTls.trusting(certs.resolve("ca.pem"))), security.self().token())
              .channel(self)
              .build();
      try {
        assertThat(new RegistryClient(own, Optional.empty(), "t").list("")).isEmpty();
        // The same token without a client certificate does not get past the handshake.
        assertThatThrownBy(() -> new RegistryClient(tokenOnly, Optional.empty(), "t").list(""))
            .isInstanceOfSatisfying(
                StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
      } finally {
        own.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        tokenOnly.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }
}
