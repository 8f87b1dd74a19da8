package dev.streamscore.proto.security;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.Objects;
import java.util.Optional;

/**
 * How a client of ours proves itself and checks its server: TLS (optionally with its own
 * certificate) and a bearer token, each optional. {@link #plaintext()} is the embedded default.
 *
 * @param tls the client's TLS; empty for plaintext
 * @param token sent as {@code authorization: Bearer <token>} with every call
 */
public record ClientSecurity(Optional<ClientTls> tls, Optional<String> token) {
  public ClientSecurity {
    Objects.requireNonNull(tls, "tls");
    Objects.requireNonNull(token, "token");
    token.ifPresent(
        t -> {
          if (t.isBlank() || !t.chars().allMatch(c -> c > 32 && c < 127)) {
            throw new IllegalArgumentException("a token must be printable ASCII without spaces");
          }
        });
  }

  private static final ClientSecurity PLAINTEXT =
      new ClientSecurity(Optional.empty(), Optional.empty());

  /** No TLS, no token. */
  public static ClientSecurity plaintext() {
    return PLAINTEXT;
  }

  /** This security with {@code token} too. */
  public ClientSecurity withToken(Optional<String> t) {
    return new ClientSecurity(tls, t);
  }

  /**
   * A channel builder for {@code target} with this security; the caller adds its own settings.
   *
   * @throws IllegalArgumentException naming a TLS file that cannot be used
   */
  public NettyChannelBuilder channel(String target) {
    NettyChannelBuilder b =
        tls.isPresent()
            ? NettyChannelBuilder.forTarget(target, tls.get().credentials())
            : NettyChannelBuilder.forTarget(target).usePlaintext();
    token.ifPresent(t -> b.intercept(new Bearer(t)));
    return b;
  }

  /** Adds the token to every call. */
  private static final class Bearer implements ClientInterceptor {
    private final String value;

    Bearer(String token) {
      this.value = "Bearer " + token;
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(
        MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
        @Override
        public void start(Listener<R> listener, Metadata headers) {
          headers.put(AccessControl.AUTHORIZATION, value);
          super.start(listener, headers);
        }
      };
    }
  }
}
