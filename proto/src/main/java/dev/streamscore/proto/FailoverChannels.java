package dev.streamscore.proto;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.EquivalentAddressGroup;
import io.grpc.ManagedChannel;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * One channel to several servers of the same services, using gRPC's own machinery only: a fixed
 * list of addresses, {@code round_robin} over those that are up, and a retry policy (service
 * config) that sends a call failed with {@code UNAVAILABLE} again, up to {@link #MAX_ATTEMPTS}
 * attempts with exponential backoff — so a server that dies costs its in-flight calls a retry on
 * another, not an error. A server is sent calls only while its {@code grpc.health.v1} status for
 * the first service is SERVING (client-side health checking), so a node that is up but not ready —
 * still loading its model, say — is passed over rather than tried. Streaming calls are retried only
 * until the server has answered; a stream that breaks later is the caller's to reopen.
 *
 * <p>gRPC retries a call only while no answer has begun; a unary call that fails UNAVAILABLE all
 * the same (its server died mid-answer), or that its server cancelled (a server shutting down
 * resets the calls it has accepted), is sent once more, waiting for a ready server within the same
 * deadline ({@link ResendUnary}). A call its caller cancelled is not.
 *
 * <p>Retrying a unary call is safe for our services: {@code Predict} is a read, and a retried one
 * at most adds a second prediction-log record with the same request id.
 */
public final class FailoverChannels {
  /** Attempts per call, the first included. */
  public static final int MAX_ATTEMPTS = 5;

  /**
   * True in the options of a unary call sent once more ({@link ResendUnary}), so that a stream
   * tracer can count it with gRPC's own retries.
   */
  public static final CallOptions.Key<Boolean> RESENT =
      CallOptions.Key.createWithDefault("streamscore-resent", false);

  private static final String SCHEME = "streamscore-failover";

  private FailoverChannels() {}

  /**
   * A plaintext channel to {@code targets}, comma-separated {@code host:port}s; one address gives
   * the same policies on one server.
   *
   * @param services fully qualified gRPC service names the retry policy applies to; the first is
   *     the one whose health decides whether a server gets calls
   * @throws IllegalArgumentException naming the target that is not {@code host:port}
   */
  public static ManagedChannel forTargets(String targets, List<String> services) {
    if (services.isEmpty()) {
      throw new IllegalArgumentException("name at least one service");
    }
    List<InetSocketAddress> addresses = parse(targets);
    return NettyChannelBuilder.forTarget(SCHEME + ":///" + targets.replace(',', '_'))
        .nameResolverFactory(new FixedAddresses(addresses))
        .defaultServiceConfig(serviceConfig(services))
        .enableRetry()
        .maxRetryAttempts(MAX_ATTEMPTS)
        .intercept(new ResendUnary())
        .usePlaintext()
        .maxInboundMessageSize(64 << 20)
        .build();
  }

  /** The addresses of {@code host:port,host:port,...}. */
  public static List<InetSocketAddress> parse(String targets) {
    List<InetSocketAddress> addresses = new ArrayList<>();
    for (String target : targets.split(",")) {
      String t = target.strip();
      int colon = t.lastIndexOf(':');
      if (colon <= 0 || colon == t.length() - 1) {
        throw new IllegalArgumentException("'" + t + "' is not host:port");
      }
      int port;
      try {
        port = Integer.parseInt(t.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("'" + t + "' is not host:port");
      }
      if (port < 1 || port > 65_535) {
        throw new IllegalArgumentException("'" + t + "' has no valid port");
      }
      addresses.add(InetSocketAddress.createUnresolved(t.substring(0, colon), port));
    }
    return List.copyOf(addresses);
  }

  /**
   * round_robin over the healthy servers, and UNAVAILABLE retried with backoff on the given
   * services. grpc-services (on the class path) makes round_robin honour {@code healthCheckConfig}.
   */
  static Map<String, Object> serviceConfig(List<String> services) {
    List<Object> names = new ArrayList<>();
    for (String service : services) {
      names.add(Map.of("service", service));
    }
    Map<String, Object> retry =
        Map.of(
            "maxAttempts",
            (double) MAX_ATTEMPTS,
            "initialBackoff",
            "0.05s",
            "maxBackoff",
            "1s",
            "backoffMultiplier",
            2.0,
            "retryableStatusCodes",
            List.of("UNAVAILABLE"));
    return Map.of(
        "loadBalancingConfig", List.of(Map.of("round_robin", Map.of())),
        "healthCheckConfig", Map.of("serviceName", services.get(0)),
        "methodConfig", List.of(Map.of("name", names, "retryPolicy", retry)));
  }

  /** Resolves to the fixed list it was made with; each address is its own subchannel. */
  private static final class FixedAddresses extends NameResolverProvider {
    private final List<InetSocketAddress> addresses;

    FixedAddresses(List<InetSocketAddress> addresses) {
      this.addresses = addresses;
    }

    @Override
    public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
      if (!SCHEME.equals(targetUri.getScheme())) {
        return null;
      }
      return new NameResolver() {
        @Override
        public String getServiceAuthority() {
          InetSocketAddress first = addresses.get(0);
          return first.getHostString() + ":" + first.getPort();
        }

        @Override
        public void start(Listener2 listener) {
          List<EquivalentAddressGroup> groups = new ArrayList<>();
          for (InetSocketAddress a : addresses) {
            SocketAddress resolved = new InetSocketAddress(a.getHostString(), a.getPort());
            if (((InetSocketAddress) resolved).isUnresolved()) {
              listener.onError(Status.UNAVAILABLE.withDescription("cannot resolve " + a));
              return;
            }
            groups.add(new EquivalentAddressGroup(resolved));
          }
          listener.onResult(
              ResolutionResult.newBuilder()
                  .setAddressesOrError(io.grpc.StatusOr.fromValue(groups))
                  .setAttributes(Attributes.EMPTY)
                  .build());
        }

        @Override
        public void shutdown() {}
      };
    }

    @Override
    public String getDefaultScheme() {
      return SCHEME;
    }

    @Override
    protected boolean isAvailable() {
      return true;
    }

    @Override
    protected int priority() {
      return 5;
    }

    @Override
    public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
      return List.of(InetSocketAddress.class);
    }
  }
}
