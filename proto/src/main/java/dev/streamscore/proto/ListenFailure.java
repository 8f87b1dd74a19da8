package dev.streamscore.proto;

import java.io.IOException;
import java.net.BindException;

/** The one-line reason a gRPC server of ours could not start listening, for every server alike. */
public final class ListenFailure {
  private ListenFailure() {}

  /** {@code port 50051 on 127.0.0.1 is in use; choose another port or 0}, or the cause. */
  public static String message(String host, int port, IOException e) {
    boolean inUse = e instanceof BindException || e.getCause() instanceof BindException;
    return inUse
        ? "port " + port + " on " + host + " is in use; choose another port or 0"
        : "cannot listen on " + host + ":" + port + ": " + e.getMessage();
  }
}
