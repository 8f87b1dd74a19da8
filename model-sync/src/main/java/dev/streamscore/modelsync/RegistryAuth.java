package dev.streamscore.modelsync;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.Set;

/**
 * The registry's authentication: writes ({@code Register}, {@code RecordRun}, {@code
 * RegisterFromRun}, {@code SetAlias}, {@code Rollback}, {@code ReportNodeStatus}) need {@code
 * authorization: Bearer <token>} when a token is configured (else UNAUTHENTICATED); every call's
 * writer name comes from {@code x-streamscore-user} metadata ({@code anonymous} without it) and is
 * available to the service as {@link #caller()}.
 */
final class RegistryAuth implements ServerInterceptor {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> USER =
      Metadata.Key.of("x-streamscore-user", Metadata.ASCII_STRING_MARSHALLER);
  private static final Context.Key<String> CALLER = Context.key("streamscore-user");

  private static final Set<String> WRITES =
      Set.of(
          "Register", "SetAlias", "Rollback", "ReportNodeStatus", "RecordRun", "RegisterFromRun");
  private final Optional<String> token;

  RegistryAuth(Optional<String> token) {
    this.token = token;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getBareMethodName();
    if (token.isPresent() && WRITES.contains(method)) {
      String given = headers.get(AUTHORIZATION);
      if (given == null
          || !MessageDigest.isEqual(
              given.getBytes(StandardCharsets.UTF_8),
              ("Bearer " + token.get()).getBytes(StandardCharsets.UTF_8))) {
        call.close(
            Status.UNAUTHENTICATED.withDescription(
                given == null
                    ? method + " needs 'authorization: Bearer <token>': this registry has a token"
                    : method + ": the token is wrong"),
            new Metadata());
        return new ServerCall.Listener<>() {};
      }
    }
    String user = headers.get(USER);
    Context ctx = Context.current().withValue(CALLER, user == null ? "anonymous" : user);
    return Contexts.interceptCall(ctx, call, headers, next);
  }

  /** The calling user's name, inside a call. */
  static String caller() {
    return CALLER.get();
  }
}
