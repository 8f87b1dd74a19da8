package dev.streamscore.launcher;

import dev.streamscore.proto.security.ServerTls;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/** Options of the commands that serve gRPC: where they listen, TLS, and who may call what. */
final class ServerSecurityOptions {
  @Option(
      names = "--bind",
      paramLabel = "HOST",
      defaultValue = PlatformSecurity.LOOPBACK,
      description =
          "Listen on this address (default: ${DEFAULT-VALUE}). Any address other hosts can reach"
              + " needs --tls-cert and --tls-key, or --insecure.")
  String bind;

  @Option(
      names = "--tls-cert",
      paramLabel = "PEM",
      description =
          "Serve TLS with this certificate chain (leaf first); read again when it changes."
              + " streamscore certs init makes one.")
  Path tlsCert;

  @Option(
      names = "--tls-key",
      paramLabel = "PEM",
      description = "The PKCS#8 private key of --tls-cert; read again when it changes.")
  Path tlsKey;

  @Option(
      names = "--tls-client-ca",
      paramLabel = "PEM",
      description =
          "Accept client certificates this CA signed (mutual TLS); the certificate's CN names"
              + " the caller in --access.")
  Path tlsClientCa;

  @Option(
      names = "--require-client-cert",
      description = "Refuse connections without a client certificate (needs --tls-client-ca).")
  boolean requireClientCert;

  @Option(
      names = "--access",
      paramLabel = "FILE",
      description =
          "Who may call what: identities, their roles and credentials (a client certificate or"
              + " a token's SHA-256); read again when it changes. Without it every caller has"
              + " every role.")
  Path access;

  @Option(
      names = "--insecure",
      description = "Accept serving plaintext on an address other hosts can reach.")
  boolean insecure;

  /**
   * The security these options ask for.
   *
   * @throws StartupException naming the option that is missing or wrong
   */
  PlatformSecurity security() {
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new StartupException("--tls-cert and --tls-key go together");
    }
    if (tlsClientCa != null && tlsCert == null) {
      throw new StartupException("--tls-client-ca needs --tls-cert and --tls-key");
    }
    if (requireClientCert && tlsClientCa == null) {
      throw new StartupException("--require-client-cert needs --tls-client-ca");
    }
    if (insecure && tlsCert != null) {
      throw new StartupException("--insecure and --tls-cert exclude each other");
    }
    Optional<ServerTls> tls =
        Optional.ofNullable(tlsCert)
            .map(
                cert ->
                    new ServerTls(
                        cert, tlsKey, Optional.ofNullable(tlsClientCa), requireClientCert));
    try {
      tls.ifPresent(ServerTls::credentials);
    } catch (IllegalArgumentException e) {
      throw new StartupException(e.getMessage(), e);
    }
    return PlatformSecurity.of(bind, tls, Optional.ofNullable(access), insecure);
  }

  /** Whether any of these options asks for access control. */
  boolean hasAccessPolicy() {
    return access != null;
  }
}
