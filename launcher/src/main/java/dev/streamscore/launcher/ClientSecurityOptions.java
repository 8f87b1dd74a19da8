package dev.streamscore.launcher;

import dev.streamscore.proto.security.ClientSecurity;
import dev.streamscore.proto.security.ClientTls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/** Options of the commands that call a streamscore server: TLS and credentials. */
final class ClientSecurityOptions {
  /** The environment variable a bearer token may come from instead of {@code --token-file}. */
  static final String TOKEN_ENV = "STREAMSCORE_TOKEN";

  @Option(
      names = "--tls-ca",
      paramLabel = "PEM",
      description = "Call over TLS, trusting servers whose certificates this CA signed.")
  Path tlsCa;

  @Option(
      names = "--tls-client-cert",
      paramLabel = "PEM",
      description = "Prove who calls with this client certificate (mutual TLS; needs --tls-ca).")
  Path tlsClientCert;

  @Option(
      names = "--tls-client-key",
      paramLabel = "PEM",
      description = "The PKCS#8 private key of --tls-client-cert.")
  Path tlsClientKey;

  @Option(
      names = "--token-file",
      paramLabel = "FILE",
      description =
          "Send the bearer token in this file with every call (or set " + TOKEN_ENV + ").")
  Path tokenFile;

  /**
   * The security these options ask for.
   *
   * @throws StartupException naming the option that is missing or wrong
   */
  ClientSecurity security() {
    if ((tlsClientCert == null) != (tlsClientKey == null)) {
      throw new StartupException("--tls-client-cert and --tls-client-key go together");
    }
    if (tlsClientCert != null && tlsCa == null) {
      throw new StartupException("--tls-client-cert needs --tls-ca");
    }
    Optional<ClientTls> tls =
        Optional.ofNullable(tlsCa)
            .map(
                ca ->
                    new ClientTls(
                        ca, Optional.ofNullable(tlsClientCert), Optional.ofNullable(tlsClientKey)));
    try {
      tls.ifPresent(ClientTls::credentials);
      return new ClientSecurity(tls, token());
    } catch (IllegalArgumentException e) {
      throw new StartupException(e.getMessage(), e);
    }
  }

  private Optional<String> token() {
    if (tokenFile != null) {
      try {
        return Optional.of(Files.readString(tokenFile).strip());
      } catch (IOException e) {
        throw new StartupException("cannot read --token-file " + tokenFile + ": " + e.getMessage());
      }
    }
    return Optional.ofNullable(System.getenv(TOKEN_ENV))
        .map(String::strip)
        .filter(t -> !t.isEmpty());
  }
}
