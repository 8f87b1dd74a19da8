package dev.streamscore.modelsync;

import dev.streamscore.proto.security.AccessControl;
import dev.streamscore.proto.security.AccessPolicy;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * Who the registry's history says made a change ({@link #caller()}): the identity the server's
 * access check authenticated ({@link AccessControl}) when there is one, so that a name cannot be
 * claimed; else the name in {@code x-streamscore-user} metadata; else {@code anonymous}.
 */
final class RegistryCaller implements ServerInterceptor {
  static final Metadata.Key<String> USER =
      Metadata.Key.of("x-streamscore-user", Metadata.ASCII_STRING_MARSHALLER);
  private static final Context.Key<String> CALLER = Context.key("streamscore-user");

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String user =
        AccessControl.caller()
            .map(AccessPolicy.Identity::name)
            .filter(name -> !name.equals(AccessPolicy.ANONYMOUS))
            .orElseGet(
                () -> {
                  String claimed = headers.get(USER);
                  return claimed == null ? AccessPolicy.ANONYMOUS : claimed;
                });
    return Contexts.interceptCall(Context.current().withValue(CALLER, user), call, headers, next);
  }

  /** The calling user's name, inside a call. */
  static String caller() {
    return CALLER.get();
  }
}
