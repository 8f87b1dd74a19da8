package dev.streamscore.modelsync;

import dev.streamscore.modelsync.SyncAgent.TargetStatus;
import dev.streamscore.proto.v1.AliasState;
import dev.streamscore.proto.v1.SyncState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What a node serves: per alias, the published policy and the loaded versions it routes to ({@link
 * Serving}, replaced whole, never changed), and how the latest change went. Hands out leases
 * without ever blocking on a swap: a reader that finds a retired version reads the newer published
 * set. Thread-safe; one writer (the sync agent's thread) publishes.
 */
final class ServingTable {
  /** An alias's policy and the loaded versions it routes to. Replaced whole, never changed. */
  record Serving(AliasState state, Map<Long, ModelHandle> handles) {}

  private final List<ModelAlias> configured;
  private final Map<ModelAlias, Serving> serving = new ConcurrentHashMap<>();
  private final Map<ModelAlias, TargetStatus> statuses = new ConcurrentHashMap<>();

  /**
   * @param configured the aliases to serve; empty for every alias seen
   */
  ServingTable(List<ModelAlias> configured) {
    this.configured = List.copyOf(configured);
    for (ModelAlias t : configured) {
      statuses.put(t, unspecified(t));
    }
  }

  /** What the alias serves now, or null. */
  Serving serving(ModelAlias target) {
    return serving.get(target);
  }

  /** Publishes what the alias serves now, in one step. */
  void publish(ModelAlias target, Serving now) {
    serving.put(target, now);
  }

  /** Takes the alias out (closing); returns what it served, or null. */
  Serving remove(ModelAlias target) {
    return serving.remove(target);
  }

  /** The alias's latest status, or null when the node does not follow it. */
  TargetStatus statusOf(ModelAlias target) {
    return statuses.get(target);
  }

  /** Follows an alias seen in the registry, when the node serves every alias. */
  void track(ModelAlias target) {
    if (configured.isEmpty()) {
      statuses.putIfAbsent(target, unspecified(target));
    }
  }

  /** Records how the alias's latest change went. */
  void setStatus(ModelAlias target, Serving now, long attempted, SyncState state, String error) {
    List<Long> versions =
        now == null ? List.of() : now.handles().keySet().stream().sorted().toList();
    long servingRevision = now == null ? 0 : now.state().getRevision();
    statuses.put(
        target, new TargetStatus(target, versions, servingRevision, attempted, state, error));
  }

  /**
   * A lease on the version of {@code model}/{@code alias} that the alias's traffic policy routes
   * {@code routingKey} to (sticky per key; empty for random).
   *
   * @throws ModelUnavailableException when this node serves no such alias, or has not loaded it
   */
  Lease acquire(String model, String alias, String routingKey) {
    for (; ; ) {
      Serving s = servingOf(model, alias);
      ModelHandle h = s.handles().get(Policies.route(s.state().getPolicy(), routingKey));
      if (h.tryAcquire()) {
        return new Lease(h);
      }
      // Retired after we read the set: a newer set is already published; read again.
    }
  }

  /**
   * A lease on a version pinned by number, if it is one of the versions this node has loaded for
   * the alias (live or shadow).
   */
  Optional<Lease> acquireVersion(String model, String alias, long version) {
    for (; ; ) {
      Serving s = servingOf(model, alias);
      ModelHandle h = s.handles().get(version);
      if (h == null) {
        return Optional.empty();
      }
      if (h.tryAcquire()) {
        return Optional.of(new Lease(h));
      }
    }
  }

  /** The shadow version the alias's serving policy names here, 0 for none. */
  long shadowVersion(String model, String alias) {
    Serving s = find(model, alias);
    return s == null ? 0 : s.state().getPolicy().getShadowVersion();
  }

  /** A lease on the alias's shadow version, when its policy names one. */
  Optional<Lease> acquireShadow(String model, String alias) {
    Serving s = find(model, alias);
    if (s == null || s.state().getPolicy().getShadowVersion() == 0) {
      return Optional.empty();
    }
    return acquireVersion(model, alias, s.state().getPolicy().getShadowVersion());
  }

  /**
   * A lease on a version pinned by number, from whichever alias of {@code model} this node has it
   * loaded for (live or shadow), bypassing traffic policies.
   *
   * @throws ModelUnavailableException when no alias of the model here has that version loaded
   */
  Lease acquirePinned(String model, long version) {
    requireModel(model);
    List<Long> loaded = new ArrayList<>();
    for (; ; ) {
      boolean retired = false;
      for (ModelAlias t : targets()) {
        Serving s = t.model().equals(model) ? serving.get(t) : null;
        ModelHandle h = s == null ? null : s.handles().get(version);
        if (h != null) {
          if (h.tryAcquire()) {
            return new Lease(h);
          }
          retired = true;
        } else if (s != null) {
          loaded.addAll(s.handles().keySet());
        }
      }
      if (!retired) {
        throw new ModelUnavailableException(
            ModelUnavailableException.Reason.NOT_SERVED,
            "this node has not loaded version "
                + version
                + " of '"
                + model
                + "' (loaded: "
                + loaded.stream().distinct().sorted().toList()
                + ")");
      }
      loaded.clear();
    }
  }

  void requireModel(String model) {
    if (targets().stream().noneMatch(t -> t.model().equals(model))) {
      throw new ModelUnavailableException(
          ModelUnavailableException.Reason.UNKNOWN_MODEL,
          "this node serves no model '"
              + model
              + "' (it serves "
              + targets().stream().map(ModelAlias::model).distinct().sorted().toList()
              + ")");
    }
  }

  /** The aliases served: the configured ones, or every one seen so far. */
  List<ModelAlias> targets() {
    return configured.isEmpty()
        ? statuses.keySet().stream()
            .sorted(java.util.Comparator.comparing(ModelAlias::toString))
            .toList()
        : configured;
  }

  static TargetStatus unspecified(ModelAlias t) {
    return new TargetStatus(t, List.of(), 0, 0, SyncState.SYNC_STATE_UNSPECIFIED, "");
  }

  /**
   * What {@code model}/{@code alias} serves, or null. The names come from callers: ones that cannot
   * be an alias are served by nothing.
   */
  private Serving find(String model, String alias) {
    return ModelAlias.isValid(model, alias) ? serving.get(new ModelAlias(model, alias)) : null;
  }

  private Serving servingOf(String model, String alias) {
    Serving s = find(model, alias);
    if (s == null) {
      TargetStatus st =
          ModelAlias.isValid(model, alias) ? statuses.get(new ModelAlias(model, alias)) : null;
      if (st == null) {
        requireModel(model);
        throw new ModelUnavailableException(
            ModelUnavailableException.Reason.NOT_SERVED,
            "this node serves no alias '"
                + alias
                + "' of '"
                + model
                + "' (it serves "
                + targets()
                + ")");
      }
      throw new ModelUnavailableException(
          ModelUnavailableException.Reason.NOT_LOADED,
          "model '"
              + model
              + "' alias '"
              + alias
              + "' is not loaded yet"
              + (st.error().isEmpty() ? "" : ": " + st.error()));
    }
    return s;
  }

  /**
   * The registry revision of the alias state this node serves now (0 before the first), read from
   * the same published set {@link #acquire} reads: a lease taken after this call returns comes from
   * this revision's versions or a later one.
   */
  long servingRevision(String model, String alias) {
    Serving s = find(model, alias);
    return s == null ? 0 : s.state().getRevision();
  }

  /** True once every target serves some version. */
  boolean ready() {
    List<ModelAlias> all = targets();
    return !all.isEmpty() && all.stream().allMatch(serving::containsKey);
  }

  /** True when {@code model}/{@code alias} serves some version now. */
  boolean serves(String model, String alias) {
    return find(model, alias) != null;
  }

  /** True when at least one alias serves some version now. */
  boolean servesAny() {
    return !serving.isEmpty();
  }

  TargetStatus status(String model, String alias) {
    TargetStatus s = statuses.get(new ModelAlias(model, alias));
    if (s == null) {
      throw new ModelUnavailableException(
          ModelUnavailableException.Reason.NOT_SERVED,
          "this node does not serve model '" + model + "' alias '" + alias + "'");
    }
    return s;
  }

  List<TargetStatus> statuses() {
    return targets().stream().map(statuses::get).toList();
  }
}
