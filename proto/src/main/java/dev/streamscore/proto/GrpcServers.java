package dev.streamscore.proto;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.io.IOException;
import java.net.BindException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** What every gRPC server of ours does alike: say why it cannot listen, and stop gracefully. */
public final class GrpcServers {
  private GrpcServers() {}

  /** {@code port 50051 on 127.0.0.1 is in use; choose another port or 0}, or the cause. */
  public static String listenFailure(String host, int port, IOException e) {
    boolean inUse = e instanceof BindException || e.getCause() instanceof BindException;
    return inUse
        ? "port " + port + " on " + host + " is in use; choose another port or 0"
        : "cannot listen on " + host + ":" + port + ": " + e.getMessage();
  }

  /**
   * Stops taking calls and lets those in flight finish for up to {@code grace}, then cancels the
   * rest and waits up to 5 s more. Keeps the thread's interrupt status.
   */
  public static void stop(Server server, Duration grace) {
    server.shutdown();
    try {
      if (!server.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.shutdownNow();
    }
  }

  /** The longest error description a server of ours sends. */
  public static final int MAX_DESCRIPTION_CHARS = 1_000;

  /**
   * Cuts every error description to {@link #MAX_DESCRIPTION_CHARS}: a description that echoes a
   * client's oversized value (a 100,000-character name) would otherwise not fit the response's
   * trailers, and the client would see RESOURCE_EXHAUSTED instead of the real error.
   */
  public static ServerInterceptor boundedErrors() {
    return BoundedErrors.INSTANCE;
  }

  private enum BoundedErrors implements ServerInterceptor {
    INSTANCE;

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      return next.startCall(
          new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
              String d = status.getDescription();
              if (d != null && d.length() > MAX_DESCRIPTION_CHARS) {
                status =
                    status.withDescription(
                        d.substring(0, MAX_DESCRIPTION_CHARS - 30)
                            + "… ("
                            + d.length()
                            + " chars in all)");
              }
              super.close(status, trailers);
            }
          },
          headers);
    }
  }
}
