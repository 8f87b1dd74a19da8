package dev.streamscore.modelsync;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.proto.v1.AliasState;
import dev.streamscore.proto.v1.Error;
import dev.streamscore.proto.v1.Model;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.NodeStatus;
import dev.streamscore.proto.v1.SyncState;
import dev.streamscore.proto.v1.TrafficPolicy;
import dev.streamscore.proto.v1.WatchEvent;
import io.grpc.ConnectivityState;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a scoring node's models in step with the registry's aliases, and hands out {@link Lease}s
 * on the versions an alias's policy routes to.
 *
 * <p>One agent thread follows the registry's {@code Watch} stream; when the stream is down it polls
 * {@code GetModel} every {@link Config#pollInterval()} and tries the stream again. For each alias
 * change it brings every version of the new policy in (download in chunks to the cache directory,
 * sha256 check against the registry's metadata, load through DJL's ONNX Runtime engine, check the
 * inputs against the node's feature views and the model's input width, warm up), then publishes the
 * new serving set in one atomic step and retires the versions it no longer needs, which close when
 * their last lease is released. If any step fails the current versions keep serving; the reason
 * goes to the log (one line), to {@link #stats()} and to the registry as the node's status.
 *
 * <p>Thread-safe. {@link #acquire} never blocks on a swap.
 */
public final class SyncAgent implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SyncAgent.class);
  private static final Duration POLL_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration LOAD_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration REPORT_TIMEOUT = Duration.ofSeconds(5);

  /**
   * The agent's settings.
   *
   * @param nodeId how this node reports itself to the registry
   * @param targets the aliases to serve; empty for every alias of every model in the registry
   * @param cacheDir where artifacts are downloaded, by sha256
   * @param token the registry's write token, needed for status reports when it has one
   * @param pollInterval how often to poll while the watch stream is down
   * @param warmupRuns predictions run on a new version before it serves
   * @param trustedSigner when present, only versions this key signed are loaded ({@link
   *     ModelSigning}); a node without one checks artifacts against the registry's sha256 only
   */
  public record Config(
      String nodeId,
      List<ModelAlias> targets,
      Path cacheDir,
      Optional<String> token,
      Duration pollInterval,
      int warmupRuns,
      Optional<PublicKey> trustedSigner) {
    public Config {
      if (nodeId == null || nodeId.isBlank()) {
        throw new IllegalArgumentException("nodeId must not be empty");
      }
      targets = List.copyOf(targets);
      Objects.requireNonNull(cacheDir, "cacheDir");
      Objects.requireNonNull(token, "token");
      Objects.requireNonNull(trustedSigner, "trustedSigner");
      if (pollInterval.isNegative() || pollInterval.isZero()) {
        throw new IllegalArgumentException("pollInterval must be positive, got " + pollInterval);
      }
      if (warmupRuns < 1) {
        throw new IllegalArgumentException("warmupRuns must be at least 1, got " + warmupRuns);
      }
    }

    /** Defaults: poll every 5 s while the watch is down, 20 warm-up predictions, no token. */
    public static Config of(String nodeId, List<ModelAlias> targets, Path cacheDir) {
      return new Config(
          nodeId, targets, cacheDir, Optional.empty(), Duration.ofSeconds(5), 20, Optional.empty());
    }

    public Config withToken(Optional<String> token) {
      return new Config(nodeId, targets, cacheDir, token, pollInterval, warmupRuns, trustedSigner);
    }

    /** Loads only versions {@code key} signed. */
    public Config withTrustedSigner(Optional<PublicKey> key) {
      return new Config(nodeId, targets, cacheDir, token, pollInterval, warmupRuns, key);
    }

    public Config withPollInterval(Duration pollInterval) {
      return new Config(nodeId, targets, cacheDir, token, pollInterval, warmupRuns, trustedSigner);
    }
  }

  /** What one alias serves now, and how the latest change went. */
  public record TargetStatus(
      ModelAlias target,
      List<Long> servingVersions,
      long servingRevision,
      long attemptedRevision,
      SyncState state,
      String error) {}

  /** Counters since start. */
  public record Stats(long swaps, long failures, long versionsLoaded, long versionsClosed) {}

  private final Config config;
  private final ManagedChannel channel;
  private final FeatureSpec spec;
  private final Clock clock;
  private final RegistryClient registry;
  private final ServingTable table;
  private final VersionLoader loader;
  private final LastGood lastGood;
  private final AtomicLong swaps = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong loaded = new AtomicLong();
  private final AtomicLong closedVersions = new AtomicLong();
  private final Thread thread;
  private final Object wakeUp = new Object();
  private volatile Context.CancellableContext watchContext;
  private volatile boolean closed;

  private SyncAgent(Config config, ManagedChannel channel, FeatureSpec spec, Clock clock) {
    this.config = config;
    this.channel = channel;
    this.spec = spec;
    this.clock = clock;
    this.lastGood = new LastGood(config.cacheDir().resolve("serving"));
    this.registry = new RegistryClient(channel, config.token(), "node:" + config.nodeId());
    this.table = new ServingTable(config.targets());
    this.loader =
        new VersionLoader(
            new ArtifactCache(config.cacheDir(), registry),
            config.trustedSigner(),
            spec,
            config.warmupRuns(),
            loaded::incrementAndGet,
            closedVersions::incrementAndGet);
    this.thread = new Thread(this::run, "model-sync-" + config.nodeId());
    this.thread.setDaemon(true);
  }

  /**
   * Starts following the registry reachable through {@code channel} (owned by the caller).
   *
   * @param spec the node's feature views: a version whose inputs name a view or feature outside
   *     them is refused
   */
  public static SyncAgent start(
      Config config, ManagedChannel channel, FeatureSpec spec, Clock clock) {
    try {
      Files.createDirectories(config.cacheDir());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the model cache " + config.cacheDir(), e);
    }
    SyncAgent agent = new SyncAgent(config, channel, spec, clock);
    agent.thread.start();
    LOG.info(
        "model sync started for {} (node {})",
        config.targets().isEmpty() ? "every model alias" : config.targets(),
        config.nodeId());
    return agent;
  }

  /**
   * A lease on the version of {@code model}/{@code alias} that the alias's traffic policy routes
   * {@code routingKey} to (sticky per key; empty for random).
   *
   * @throws ModelUnavailableException when this node serves no such alias, or has not loaded it
   */
  public Lease acquire(String model, String alias, String routingKey) {
    return table.acquire(model, alias, routingKey);
  }

  /**
   * A lease on a version pinned by number, if it is one of the versions this node has loaded for
   * the alias (live or shadow).
   */
  public Optional<Lease> acquireVersion(String model, String alias, long version) {
    return table.acquireVersion(model, alias, version);
  }

  /** The shadow version the alias's serving policy names here, 0 for none. */
  public long shadowVersion(String model, String alias) {
    return table.shadowVersion(model, alias);
  }

  /** A lease on the alias's shadow version, when its policy names one. */
  public Optional<Lease> acquireShadow(String model, String alias) {
    return table.acquireShadow(model, alias);
  }

  /**
   * A lease on a version pinned by number, from whichever alias of {@code model} this node has it
   * loaded for (live or shadow), bypassing traffic policies.
   *
   * @throws ModelUnavailableException when no alias of the model here has that version loaded
   */
  public Lease acquirePinned(String model, long version) {
    return table.acquirePinned(model, version);
  }

  /**
   * The registry revision of the alias state this node serves now (0 before the first), read from
   * the same published set {@link #acquire} reads: a lease taken after this call returns comes from
   * this revision's versions or a later one.
   */
  public long servingRevision(String model, String alias) {
    return table.servingRevision(model, alias);
  }

  /** True once every target serves some version. */
  public boolean ready() {
    return table.ready();
  }

  /** True when {@code model}/{@code alias} serves some version now. */
  public boolean serves(String model, String alias) {
    return table.serves(model, alias);
  }

  /** True when at least one alias serves some version now. */
  public boolean servesAny() {
    return table.servesAny();
  }

  /**
   * @throws ModelUnavailableException when this node does not follow the alias
   */
  public TargetStatus status(String model, String alias) {
    return table.status(model, alias);
  }

  public List<TargetStatus> statuses() {
    return table.statuses();
  }

  public Stats stats() {
    return new Stats(swaps.get(), failures.get(), loaded.get(), closedVersions.get());
  }

  private void run() {
    boolean reportedDown = false;
    while (!closed) {
      if (channel.getState(false) == ConnectivityState.TRANSIENT_FAILURE) {
        // The poll interval, not the channel's growing back-off (up to 2 min), paces retries.
        channel.resetConnectBackoff();
      }
      try {
        watchUntilBroken();
      } catch (StatusRuntimeException e) {
        if (closed) {
          break;
        }
        if (!reportedDown) {
          LOG.warn(
              "model registry watch unavailable ({}); polling every {} s",
              describe(e),
              config.pollInterval().toSeconds());
          reportedDown = true;
        }
      } catch (RuntimeException e) {
        LOG.error("model sync failed; retrying", e);
      }
      if (closed) {
        break;
      }
      try {
        poll();
      } catch (StatusRuntimeException e) {
        LOG.debug("polling the registry failed: {}", describe(e));
      }
      synchronized (wakeUp) {
        if (!closed) {
          try {
            wakeUp.wait(config.pollInterval().toMillis());
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
        }
      }
    }
  }

  /** Follows the watch stream until it breaks (throws) or the agent closes. */
  private void watchUntilBroken() {
    Context.CancellableContext ctx = Context.current().withCancellation();
    watchContext = ctx;
    if (closed) {
      ctx.cancel(null);
      return;
    }
    try {
      ctx.run(
          () -> {
            Set<String> models = new LinkedHashSet<>();
            config.targets().forEach(t -> models.add(t.model())); // none: every model
            Iterator<WatchEvent> events = registry.watch(models);
            while (events.hasNext()) {
              WatchEvent e = events.next();
              if (e.hasAlias()) {
                onAlias(e.getAlias());
              }
            }
          });
    } finally {
      ctx.cancel(null);
    }
  }

  private void poll() {
    Set<String> models = new LinkedHashSet<>();
    config.targets().forEach(t -> models.add(t.model()));
    if (models.isEmpty()) {
      registry
          .within(POLL_TIMEOUT)
          .list("")
          .forEach(m -> m.getAliasesList().forEach(this::onAlias));
      return;
    }
    for (String model : models) {
      Model m;
      try {
        m = registry.within(POLL_TIMEOUT).model(model);
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
          continue; // not registered yet
        }
        throw e;
      }
      m.getAliasesList().forEach(this::onAlias);
    }
  }

  private void onAlias(AliasState state) {
    // The registry accepts only names an alias may have.
    ModelAlias target = new ModelAlias(state.getModel(), state.getAlias());
    table.track(target);
    TargetStatus status = table.statusOf(target);
    if (status == null || closed) {
      return;
    }
    if (state.getRevision() == status.attemptedRevision()
        || state.getRevision() == status.servingRevision()) {
      return;
    }
    apply(target, state);
  }

  /** Brings the policy's versions in and swaps them in atomically, or keeps the current ones. */
  private void apply(ModelAlias target, AliasState state) {
    long began = System.nanoTime();
    ServingTable.Serving current = table.serving(target);
    TrafficPolicy policy = state.getPolicy();
    Set<Long> wanted = Policies.versions(policy);
    setStatus(target, current, state.getRevision(), SyncState.SYNC_STATE_LOADING, "");
    Map<Long, ModelHandle> next = new LinkedHashMap<>();
    List<ModelHandle> fresh = new ArrayList<>();
    try {
      Model model = null;
      for (long v : wanted) {
        ModelHandle have = current == null ? null : current.handles().get(v);
        if (have != null) {
          next.put(v, have);
          continue;
        }
        if (model == null) {
          model = registry.within(LOAD_TIMEOUT).model(target.model());
        }
        ModelVersion meta = versionOf(model, v);
        ModelHandle h = loader.load(meta);
        fresh.add(h);
        next.put(v, h);
      }
    } catch (RuntimeException e) {
      // Whatever goes wrong with one alias stays with that alias: the others keep being followed.
      fresh.forEach(ModelHandle::retire);
      failures.incrementAndGet();
      String why =
          e instanceof StatusRuntimeException s
              ? describe(s)
              : e instanceof ModelLoadException || e instanceof UncheckedIOException
                  ? e.getMessage()
                  : e.getClass().getSimpleName() + ": " + e.getMessage();
      if (current == null && restoreLastGood(target, state)) {
        current = table.serving(target);
      }
      LOG.warn(
          "{}: cannot apply {} (revision {}); still serving {}: {}",
          target,
          Policies.describe(policy),
          state.getRevision(),
          current == null ? "nothing" : Policies.describe(current.state().getPolicy()),
          why);
      setStatus(target, current, state.getRevision(), SyncState.SYNC_STATE_FAILED, why);
      return;
    }
    table.publish(target, new ServingTable.Serving(state, Map.copyOf(next)));
    if (current != null) {
      for (Map.Entry<Long, ModelHandle> old : current.handles().entrySet()) {
        if (!next.containsKey(old.getKey())) {
          old.getValue().retire();
        }
      }
    }
    swaps.incrementAndGet();
    LOG.info(
        "{}: serving {} (revision {}) after {} ms",
        target,
        Policies.describe(policy),
        state.getRevision(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began));
    setStatus(target, table.serving(target), state.getRevision(), SyncState.SYNC_STATE_SERVING, "");
    lastGood.save(target, state);
  }

  /**
   * After a restart, an alias whose current policy cannot be loaded serves the last policy this
   * node served for it, if that still loads: a broken promotion must not take down what served
   * before.
   *
   * @return true when the last good policy now serves
   */
  private boolean restoreLastGood(ModelAlias target, AliasState failed) {
    Optional<AliasState> last = lastGood.load(target);
    if (last.isEmpty() || last.get().getRevision() >= failed.getRevision()) {
      return false;
    }
    AliasState previous = last.get();
    Map<Long, ModelHandle> handles = new LinkedHashMap<>();
    try {
      Model model = registry.within(LOAD_TIMEOUT).model(target.model());
      for (long v : Policies.versions(previous.getPolicy())) {
        handles.put(v, loader.load(versionOf(model, v)));
      }
    } catch (RuntimeException e) {
      handles.values().forEach(ModelHandle::retire);
      LOG.warn(
          "{}: the last policy served here cannot be loaded either: {}", target, e.getMessage());
      return false;
    }
    table.publish(target, new ServingTable.Serving(previous, Map.copyOf(handles)));
    LOG.info(
        "{}: serving the last good {} (revision {}) instead",
        target,
        Policies.describe(previous.getPolicy()),
        previous.getRevision());
    return true;
  }

  private static ModelVersion versionOf(Model model, long version) {
    for (ModelVersion v : model.getVersionsList()) {
      if (v.getVersion() == version) {
        return v;
      }
    }
    throw new ModelLoadException(
        "the registry lists no version " + version + " of '" + model.getName() + "'");
  }

  private void setStatus(
      ModelAlias target, ServingTable.Serving now, long attempted, SyncState state, String error) {
    table.setStatus(target, now, attempted, state, error);
    List<Long> versions =
        now == null ? List.of() : now.handles().keySet().stream().sorted().toList();
    if (state == SyncState.SYNC_STATE_LOADING) {
      return; // reported with the outcome
    }
    NodeStatus.Builder report =
        NodeStatus.newBuilder()
            .setNodeId(config.nodeId())
            .setModel(target.model())
            .setAlias(target.alias())
            .addAllServingVersions(versions)
            .setAttemptedRevision(attempted)
            .setState(state)
            .setReportedAtMs(clock.millis());
    if (!error.isEmpty()) {
      report.setError(
          Error.newBuilder()
              .setCode(Status.Code.FAILED_PRECONDITION.value())
              .setMessage(error)
              .build());
    }
    try {
      registry.within(REPORT_TIMEOUT).report(report.build());
    } catch (StatusRuntimeException e) {
      LOG.debug("reporting {} to the registry failed: {}", target, describe(e));
    }
  }

  private static String describe(StatusRuntimeException e) {
    Status s = e.getStatus();
    return s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
  }

  /**
   * Stops following the registry, then retires every loaded version: each closes when its last
   * lease is released. Leases taken before stay valid until closed; {@link #acquire} fails after.
   */
  @Override
  public void close() {
    closed = true;
    Context.CancellableContext ctx = watchContext;
    if (ctx != null) {
      ctx.cancel(null);
    }
    synchronized (wakeUp) {
      wakeUp.notifyAll();
    }
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (ModelAlias t : table.targets()) {
      ServingTable.Serving s = table.remove(t);
      if (s != null) {
        s.handles().values().forEach(ModelHandle::retire);
      }
    }
    LOG.info("model sync stopped (node {})", config.nodeId());
  }
}
