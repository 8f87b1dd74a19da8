package dev.streamscore.proto.security;

import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * A client's TLS: the CA that signed the servers' certificates and, for mutual TLS, the client's
 * own certificate and key. All are PEM files, read again when they change.
 *
 * @param ca the CA certificates the server's chain must lead to
 * @param certificate the client's chain, leaf first, whose subject CN names it
 * @param key its PKCS#8 private key; present exactly when {@code certificate} is
 */
public record ClientTls(Path ca, Optional<Path> certificate, Optional<Path> key) {
  public ClientTls {
    Objects.requireNonNull(ca, "ca");
    Objects.requireNonNull(certificate, "certificate");
    Objects.requireNonNull(key, "key");
    if (certificate.isPresent() != key.isPresent()) {
      throw new IllegalArgumentException(
          "a client certificate needs its key, and a key its certificate");
    }
  }

  /** TLS that only checks the server. */
  public static ClientTls trusting(Path ca) {
    return new ClientTls(ca, Optional.empty(), Optional.empty());
  }

  /** Mutual TLS. */
  public static ClientTls mutual(Path ca, Path certificate, Path key) {
    return new ClientTls(ca, Optional.of(certificate), Optional.of(key));
  }

  /**
   * gRPC's channel credentials.
   *
   * @throws IllegalArgumentException naming a file that cannot be used
   */
  public ChannelCredentials credentials() {
    TlsChannelCredentials.Builder b =
        TlsChannelCredentials.newBuilder().trustManager(TlsFiles.trust(ca));
    certificate.ifPresent(c -> b.keyManager(TlsFiles.keys(c, key.orElseThrow())));
    return b.build();
  }
}
