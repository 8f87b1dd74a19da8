package dev.streamscore.proto.security;

import dev.streamscore.proto.v1.FeatureServiceGrpc;
import dev.streamscore.proto.v1.IngestGrpc;
import dev.streamscore.proto.v1.ModelRegistryGrpc;
import dev.streamscore.proto.v1.ScoringGrpc;
import io.grpc.MethodDescriptor;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Which role each rpc needs: the one table every server's {@link AccessControl} consults, so that a
 * new rpc without a row is refused to everybody rather than open to all.
 *
 * <p>Health checks are open: load balancers and orchestrators probe without credentials, and a
 * status says nothing a port scan does not. The registry's reads (models, versions, history, runs,
 * node status) and server reflection need an identity with any role.
 */
public final class Rpcs {
  /** What a call needs. */
  public sealed interface Rule {
    /** Whether an identity holding {@code roles} may make the call. */
    boolean permits(Set<Role> roles);

    /** {@code publisher}, {@code any role}, {@code nothing}: for messages. */
    String describe();
  }

  /** No identity needed. */
  public record Open() implements Rule {
    @Override
    public boolean permits(Set<Role> roles) {
      return true;
    }

    @Override
    public String describe() {
      return "nothing";
    }
  }

  /** Any role at all. */
  public record AnyRole() implements Rule {
    @Override
    public boolean permits(Set<Role> roles) {
      return !roles.isEmpty();
    }

    @Override
    public String describe() {
      return "any role";
    }
  }

  /** This one role. */
  public record Needs(Role role) implements Rule {
    @Override
    public boolean permits(Set<Role> roles) {
      return roles.contains(role);
    }

    @Override
    public String describe() {
      return "the " + role.label() + " role";
    }
  }

  private static final Map<String, Rule> RULES = rules();

  private Rpcs() {}

  /** The rule for a full method name ({@code streamscore.v1.Scoring/Predict}), if it has one. */
  public static Optional<Rule> rule(String fullMethodName) {
    Rule rule = RULES.get(fullMethodName);
    if (rule != null) {
      return Optional.of(rule);
    }
    if (fullMethodName.startsWith("grpc.health.v1.Health/")) {
      return Optional.of(new Open());
    }
    if (fullMethodName.startsWith("grpc.reflection.")) {
      return Optional.of(new AnyRole());
    }
    return Optional.empty();
  }

  /** Every rpc of ours with its rule, for documentation and tests. */
  public static Map<String, Rule> table() {
    return RULES;
  }

  private static Map<String, Rule> rules() {
    Rule anyRole = new AnyRole();
    return Map.ofEntries(
        needs(IngestGrpc.getPublishMethod(), Role.PRODUCER),
        needs(IngestGrpc.getPublishBatchMethod(), Role.PRODUCER),
        needs(FeatureServiceGrpc.getGetOnlineFeaturesMethod(), Role.READER),
        needs(FeatureServiceGrpc.getListFeaturesMethod(), Role.READER),
        needs(ScoringGrpc.getPredictMethod(), Role.SCORER),
        needs(ScoringGrpc.getPredictStreamMethod(), Role.SCORER),
        needs(ModelRegistryGrpc.getRegisterMethod(), Role.PUBLISHER),
        needs(ModelRegistryGrpc.getRecordRunMethod(), Role.PUBLISHER),
        needs(ModelRegistryGrpc.getRegisterFromRunMethod(), Role.PUBLISHER),
        needs(ModelRegistryGrpc.getSetAliasMethod(), Role.OPERATOR),
        needs(ModelRegistryGrpc.getRollbackMethod(), Role.OPERATOR),
        needs(ModelRegistryGrpc.getWatchMethod(), Role.NODE),
        needs(ModelRegistryGrpc.getDownloadMethod(), Role.NODE),
        needs(ModelRegistryGrpc.getReportNodeStatusMethod(), Role.NODE),
        Map.entry(ModelRegistryGrpc.getListModelsMethod().getFullMethodName(), anyRole),
        Map.entry(ModelRegistryGrpc.getGetModelMethod().getFullMethodName(), anyRole),
        Map.entry(ModelRegistryGrpc.getGetVersionMethod().getFullMethodName(), anyRole),
        Map.entry(ModelRegistryGrpc.getHistoryMethod().getFullMethodName(), anyRole),
        Map.entry(ModelRegistryGrpc.getListNodeStatusMethod().getFullMethodName(), anyRole),
        Map.entry(ModelRegistryGrpc.getListRunsMethod().getFullMethodName(), anyRole),
        Map.entry(ModelRegistryGrpc.getGetRunMethod().getFullMethodName(), anyRole));
  }

  private static Map.Entry<String, Rule> needs(MethodDescriptor<?, ?> method, Role role) {
    return Map.entry(method.getFullMethodName(), new Needs(role));
  }
}
