package dev.streamscore.proto.security;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * How a server of ours admits callers: TLS or not, and who may call what. The default ({@link
 * #open()}) is plaintext and open, which {@link #checkBind} allows on loopback addresses only:
 * listening anywhere else needs TLS, or {@code insecure} said explicitly.
 *
 * @param tls the server's TLS; empty for plaintext
 * @param access the current access policy
 * @param insecure plaintext on a non-loopback address was asked for explicitly ({@code --insecure})
 */
public record ServerSecurity(
    Optional<ServerTls> tls, Supplier<AccessPolicy> access, boolean insecure) {
  public ServerSecurity {
    Objects.requireNonNull(tls, "tls");
    Objects.requireNonNull(access, "access");
  }

  private static final ServerSecurity OPEN =
      new ServerSecurity(Optional.empty(), AccessPolicy::open, false);

  /** Plaintext, every caller may do everything: the embedded default on 127.0.0.1. */
  public static ServerSecurity open() {
    return OPEN;
  }

  /** This security with {@code policy} as its access policy. */
  public ServerSecurity withAccess(Supplier<AccessPolicy> policy) {
    return new ServerSecurity(tls, policy, insecure);
  }

  /** The access check to install, or none when every caller may do everything. */
  public Optional<AccessControl> accessControl() {
    return access == OPEN.access ? Optional.empty() : Optional.of(new AccessControl(access));
  }

  /**
   * Refuses plaintext on an address other hosts can reach unless {@code insecure} was given.
   *
   * @throws IllegalStateException saying how to secure it, or to pass --insecure
   */
  public void checkBind(String host) {
    if (tls.isEmpty() && !insecure && !isLoopback(host)) {
      throw new IllegalStateException(
          "refusing to serve plaintext on "
              + host
              + ", which other hosts can reach: give --tls-cert and --tls-key (streamscore certs"
              + " init makes them), or --insecure to accept plaintext");
    }
  }

  /** Whether {@code host} is a loopback address (an unknown name is not). */
  public static boolean isLoopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
