package dev.streamscore.proto.security;

import dev.streamscore.proto.security.AccessPolicy.Identity;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.function.Supplier;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Every server's one check of who calls and whether they may ({@link Rpcs}): a bearer token in
 * {@code authorization}, else the TLS client certificate's subject CN, else anonymous. A token or
 * certificate the policy does not know is UNAUTHENTICATED (a wrong credential is never downgraded
 * to anonymous); a caller without the rpc's role is PERMISSION_DENIED, or UNAUTHENTICATED when it
 * gave no credential at all. The identity is in the call's context ({@link #caller()}) so that, for
 * one, the registry's history records who moved an alias.
 */
public final class AccessControl implements ServerInterceptor {
  /** The {@code authorization} header: {@code Bearer <token>}. */
  public static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private static final Context.Key<Identity> CALLER = Context.key("streamscore-identity");
  private static final String BEARER = "Bearer ";

  private final Supplier<AccessPolicy> policy;

  /**
   * @param policy the current policy, asked once per call (a {@link PolicyFile} reloads)
   */
  public AccessControl(Supplier<AccessPolicy> policy) {
    this.policy = policy;
  }

  /** The authenticated caller, inside a call on a server with access control. */
  public static Optional<Identity> caller() {
    return Optional.ofNullable(CALLER.get());
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    String bare = call.getMethodDescriptor().getBareMethodName();
    Optional<Rpcs.Rule> rule = Rpcs.rule(method);
    AccessPolicy current = policy.get();
    Identity identity;
    boolean anonymous = false;
    String authorization = headers.get(AUTHORIZATION);
    Optional<String> certificateName = certificateName(call);
    if (authorization != null) {
      if (!authorization.startsWith(BEARER)) {
        return refuse(
            call, Status.UNAUTHENTICATED, bare + ": authorization must be 'Bearer <token>'");
      }
      Optional<Identity> known = current.byToken(authorization.substring(BEARER.length()).strip());
      if (known.isEmpty()) {
        return refuse(call, Status.UNAUTHENTICATED, bare + ": the token is not known");
      }
      identity = known.get();
    } else if (certificateName.isPresent()) {
      Optional<Identity> known = current.byCertificate(certificateName.get());
      if (known.isEmpty()) {
        return refuse(
            call,
            Status.UNAUTHENTICATED,
            bare + ": client certificate CN=" + certificateName.get() + " is not in the policy");
      }
      identity = known.get();
    } else {
      identity = current.anonymous();
      anonymous = true;
    }
    if (rule.isEmpty()) {
      return refuse(call, Status.PERMISSION_DENIED, bare + ": no role may call " + method);
    }
    if (!rule.get().permits(identity.roles())) {
      if (anonymous) {
        return refuse(
            call,
            Status.UNAUTHENTICATED,
            bare
                + " needs "
                + rule.get().describe()
                + ": send 'authorization: Bearer <token>' or a client certificate");
      }
      return refuse(
          call,
          Status.PERMISSION_DENIED,
          bare
              + " needs "
              + rule.get().describe()
              + "; '"
              + identity.name()
              + "' has "
              + Role.labels(identity.roles()));
    }
    return Contexts.interceptCall(
        Context.current().withValue(CALLER, identity), call, headers, next);
  }

  private static <Q, R> ServerCall.Listener<Q> refuse(
      ServerCall<Q, R> call, Status status, String why) {
    call.close(status.withDescription(why), new Metadata());
    return new ServerCall.Listener<>() {};
  }

  /** The subject CN of a verified TLS client certificate, if the call came with one. */
  private static Optional<String> certificateName(ServerCall<?, ?> call) {
    SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (session == null) {
      return Optional.empty();
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
        return Optional.empty();
      }
      return commonName(leaf);
    } catch (SSLPeerUnverifiedException e) {
      return Optional.empty();
    }
  }

  /** The CN of a certificate's subject. */
  public static Optional<String> commonName(X509Certificate certificate) {
    try {
      LdapName dn = new LdapName(certificate.getSubjectX500Principal().getName());
      for (Rdn rdn : dn.getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          return Optional.of(rdn.getValue().toString());
        }
      }
      return Optional.empty();
    } catch (InvalidNameException e) {
      return Optional.empty();
    }
  }
}
