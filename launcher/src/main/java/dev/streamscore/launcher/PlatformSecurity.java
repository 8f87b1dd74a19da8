package dev.streamscore.launcher;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import dev.streamscore.proto.security.AccessPolicy;
import dev.streamscore.proto.security.ClientSecurity;
import dev.streamscore.proto.security.ClientTls;
import dev.streamscore.proto.security.PolicyFile;
import dev.streamscore.proto.security.Role;
import dev.streamscore.proto.security.ServerSecurity;
import dev.streamscore.proto.security.ServerTls;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Optional;
import java.util.function.Supplier;
import javax.net.ssl.SSLParameters;

/**
 * How {@code streamscore up} secures its gRPC servers, and how its own parts call each other.
 *
 * <p>With an access policy, the platform's own clients (the scoring node's registry watch, the
 * console) prove themselves with a token made at start and known only to this process: identity
 * {@value #SELF} with every role. With TLS they trust the certificates in the server's own chain
 * file, and when client certificates are required they present the server's certificate (which
 * {@code streamscore certs init} makes valid for client authentication too).
 *
 * @param host the address every gRPC server listens on
 * @param server TLS and the access check of each server
 * @param self how the platform's own clients call its servers
 */
record PlatformSecurity(String host, ServerSecurity server, ClientSecurity self) {
  /** The platform's own identity in its servers' access check. */
  static final String SELF = "platform";

  static final String LOOPBACK = "127.0.0.1";

  /** Plaintext and open on 127.0.0.1: the embedded default. */
  static PlatformSecurity open() {
    return new PlatformSecurity(LOOPBACK, ServerSecurity.open(), ClientSecurity.plaintext());
  }

  /**
   * @param host the address to listen on
   * @param tls the servers' TLS, if any
   * @param access the access policy file; none leaves every caller every role
   * @param insecure plaintext on a non-loopback address is accepted
   * @throws StartupException saying what is wrong with the files or the combination
   */
  static PlatformSecurity of(
      String host, Optional<ServerTls> tls, Optional<Path> access, boolean insecure) {
    Supplier<AccessPolicy> policy = AccessPolicy::open;
    Optional<String> token = Optional.empty();
    if (access.isPresent()) {
      PolicyFile file;
      try {
        file = new PolicyFile(access.get());
      } catch (RuntimeException e) {
        throw new StartupException(e.getMessage(), e);
      }
      String secret = newToken();
      policy = new WithSelf(file, secret);
      token = Optional.of(secret);
    }
    ServerSecurity server = new ServerSecurity(tls, policy, insecure);
    try {
      server.checkBind(host);
    } catch (IllegalStateException e) {
      throw new StartupException(e.getMessage());
    }
    Optional<ClientTls> clientTls =
        tls.map(
            t ->
                t.requireClientCertificate()
                    ? ClientTls.mutual(t.certificate(), t.certificate(), t.key())
                    : ClientTls.trusting(t.certificate()));
    return new PlatformSecurity(host, server, new ClientSecurity(clientTls, token));
  }

  /**
   * HTTPS for the console and the metrics endpoint, with the gRPC servers' certificate (and their
   * client-certificate rule), when they serve TLS.
   */
  Optional<HttpsConfigurator> https() {
    return server
        .tls()
        .map(
            tls ->
                new HttpsConfigurator(tls.sslContext()) {
                  @Override
                  public void configure(HttpsParameters params) {
                    SSLParameters ssl = getSSLContext().getDefaultSSLParameters();
                    if (tls.requireClientCertificate()) {
                      ssl.setNeedClientAuth(true);
                    } else if (tls.clientCa().isPresent()) {
                      ssl.setWantClientAuth(true);
                    }
                    params.setSSLParameters(ssl);
                  }
                });
  }

  /** {@code host:port} the platform's own clients reach a server of it at. */
  String selfTarget(String address) {
    int colon = address.lastIndexOf(':');
    String h = address.substring(0, colon);
    return h.equals("0.0.0.0") || h.equals("::") || h.equals("[::]")
        ? LOOPBACK + address.substring(colon)
        : address;
  }

  private static String newToken() {
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
  }

  /** The file's policy plus the platform's own token, derived once per version of the file. */
  private static final class WithSelf implements Supplier<AccessPolicy> {
    private final PolicyFile file;
    private final String token;
    private volatile AccessPolicy base;
    private volatile AccessPolicy derived;

    WithSelf(PolicyFile file, String token) {
      this.file = file;
      this.token = token;
    }

    @Override
    public AccessPolicy get() {
      AccessPolicy current = file.get();
      AccessPolicy d = derived;
      if (current != base || d == null) {
        d = current.withToken(token, new AccessPolicy.Identity(SELF, EnumSet.allOf(Role.class)));
        derived = d;
        base = current;
      }
      return d;
    }
  }
}
