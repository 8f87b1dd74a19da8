package dev.streamscore.proto;

import dev.streamscore.proto.security.ServerSecurity;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a server of ours listens, chosen by its caller: a TCP address ({@link #tcp}) in every
 * process, or any other transport (gRPC's in-process one in unit tests) through {@link #of}. The
 * server adds its services and executor to {@link #builder()} and starts it with {@link #start}.
 *
 * @param builder a fresh builder; each transport starts one server
 * @param host how failures name the place: the host, or the in-process name
 * @param port the TCP port (0 for any free one), or -1 when there is none
 */
public record ServerTransport(ServerBuilder<?> builder, String host, int port) {
  private static final Logger log = LoggerFactory.getLogger(ServerTransport.class);

  public ServerTransport {
    Objects.requireNonNull(builder, "builder");
    Objects.requireNonNull(host, "host");
    if (port < -1 || port > 65_535) {
      throw new IllegalArgumentException("port must be 0..65535, got " + port);
    }
  }

  /** Netty on {@code host:port}, plaintext and open; port 0 for any free port. */
  public static ServerTransport tcp(String host, int port) {
    return tcp(host, port, ServerSecurity.open());
  }

  /**
   * Netty on {@code host:port} with {@code security}: its TLS, and its access check on every
   * service.
   *
   * @throws IllegalStateException for plaintext on a non-loopback address without {@code insecure}
   * @throws IllegalArgumentException naming a TLS file that cannot be used
   */
  public static ServerTransport tcp(String host, int port, ServerSecurity security) {
    security.checkBind(host);
    InetSocketAddress address = new InetSocketAddress(host, port);
    NettyServerBuilder builder =
        security.tls().isPresent()
            ? NettyServerBuilder.forAddress(address, security.tls().get().credentials())
            : NettyServerBuilder.forAddress(address);
    security.accessControl().ifPresent(builder::intercept);
    if (security.tls().isEmpty() && !ServerSecurity.isLoopback(host)) {
      log.warn("serving plaintext on {}:{} because --insecure was given", host, port);
    }
    return new ServerTransport(builder, host, port);
  }

  /** Netty on 127.0.0.1. */
  public static ServerTransport loopback(int port) {
    return tcp("127.0.0.1", port);
  }

  /** Any other transport, named {@code name} in messages. */
  public static ServerTransport of(ServerBuilder<?> builder, String name) {
    return new ServerTransport(builder, name, -1);
  }

  /** A started server and the address it answers on; {@link #stop} ends it. */
  public record Listening(Server server, String address) {
    /** Stops taking calls, lets those in flight finish for up to {@code grace}, then cancels. */
    public void stop(Duration grace) {
      GrpcServers.stop(server, grace);
    }
  }

  /**
   * Builds and starts the server.
   *
   * @throws IllegalStateException saying why it cannot listen ({@code port 50051 on 127.0.0.1 is in
   *     use; choose another port or 0})
   */
  public Listening start() {
    Server server = builder.build();
    try {
      server.start();
    } catch (IOException e) {
      throw new IllegalStateException(
          port < 0
              ? "cannot listen on " + host + ": " + e.getMessage()
              : GrpcServers.listenFailure(host, port, e),
          e);
    }
    return new Listening(server, address(server));
  }

  /**
   * Builds and starts the server; when it cannot listen, runs {@code undo} (to release what the
   * caller set up for it) before throwing.
   *
   * @throws IllegalStateException saying why it cannot listen
   */
  public Listening start(Runnable undo) {
    try {
      return start();
    } catch (IllegalStateException e) {
      undo.run();
      throw e;
    }
  }

  /**
   * {@code host:port} of a started server: the port it bound (the one asked for, or the free one
   * found for 0); the in-process name for other transports.
   */
  private String address(Server started) {
    for (SocketAddress a : started.getListenSockets()) {
      if (a instanceof InetSocketAddress inet) {
        return host + ":" + inet.getPort();
      }
    }
    return host;
  }
}
