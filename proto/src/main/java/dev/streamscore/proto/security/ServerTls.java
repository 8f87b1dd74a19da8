package dev.streamscore.proto.security;

import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

/**
 * A server's TLS: its certificate chain and key, and for mutual TLS the CA whose client
 * certificates it accepts. All are PEM files, read again when they change.
 *
 * @param certificate the server's chain, leaf first
 * @param key its PKCS#8 private key
 * @param clientCa when present, clients may prove who they are with a certificate this CA signed
 * @param requireClientCertificate refuse connections without one (mTLS only); else a client may use
 *     a bearer token instead
 */
public record ServerTls(
    Path certificate, Path key, Optional<Path> clientCa, boolean requireClientCertificate) {
  public ServerTls {
    Objects.requireNonNull(certificate, "certificate");
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(clientCa, "clientCa");
    if (requireClientCertificate && clientCa.isEmpty()) {
      throw new IllegalArgumentException("requiring client certificates needs a client CA");
    }
  }

  /** TLS without client certificates. */
  public static ServerTls of(Path certificate, Path key) {
    return new ServerTls(certificate, key, Optional.empty(), false);
  }

  /**
   * gRPC's server credentials.
   *
   * @throws IllegalArgumentException naming a file that cannot be used
   */
  public ServerCredentials credentials() {
    TlsServerCredentials.Builder b =
        TlsServerCredentials.newBuilder().keyManager(TlsFiles.keys(certificate, key));
    clientCa.ifPresent(
        ca ->
            b.trustManager(TlsFiles.trust(ca))
                .clientAuth(
                    requireClientCertificate
                        ? TlsServerCredentials.ClientAuth.REQUIRE
                        : TlsServerCredentials.ClientAuth.OPTIONAL));
    return b.build();
  }

  /**
   * The same identity for an HTTPS endpoint; the caller sets client authentication on its engines.
   *
   * @throws IllegalArgumentException naming a file that cannot be used
   */
  public SSLContext sslContext() {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(
          new KeyManager[] {TlsFiles.keys(certificate, key)},
          clientCa.map(ca -> new TrustManager[] {TlsFiles.trust(ca)}).orElse(null),
          null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("TLS is not available: " + e, e);
    }
  }
}
