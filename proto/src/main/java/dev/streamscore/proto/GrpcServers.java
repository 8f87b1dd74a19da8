package dev.streamscore.proto;

import io.grpc.Server;
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
}
