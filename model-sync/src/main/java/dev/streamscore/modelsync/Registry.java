package dev.streamscore.modelsync;

import dev.streamscore.proto.v1.AliasChange;
import dev.streamscore.proto.v1.AliasState;
import dev.streamscore.proto.v1.Model;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.NodeStatus;
import dev.streamscore.proto.v1.RegistryJournalEntry;
import dev.streamscore.proto.v1.SetAliasRequest;
import dev.streamscore.proto.v1.TrafficPolicy;
import dev.streamscore.proto.v1.TrafficSplit;
import dev.streamscore.proto.v1.TrainingRun;
import dev.streamscore.proto.v1.WatchEvent;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The registry's state: versions, aliases with their history, and node reports. Every write goes to
 * the {@link RegistryJournal} before it is acknowledged, and opening replays it, so the
 * registry-wide revision (the entry's position) survives restarts. Artifacts are kept by the {@link
 * ArtifactStore}; every request is checked by {@link VersionChecks}. Node reports are kept in
 * memory: nodes report after every attempt.
 *
 * <p>Thread-safe; writes are serialized. Refusals are {@link RegistryException}s with a reason;
 * storage failures are IOExceptions.
 */
final class Registry implements AutoCloseable {
  static final String ROLLBACK = "rollback";

  private final Clock clock;
  private final ArtifactStore artifacts;
  private final ModelSigning signing;
  private final RegistryJournal journal;
  private final Map<String, List<ModelVersion>> versions = new TreeMap<>();
  private final Map<String, Map<String, AliasState>> aliases = new TreeMap<>();

  /** Earlier policies of each alias, newest last: what rollback returns to. */
  private final Map<String, Deque<TrafficPolicy>> earlier = new LinkedHashMap<>();

  private final List<AliasChange> changes = new ArrayList<>();
  private final List<WatchEvent> events = new ArrayList<>();
  private final List<Consumer<WatchEvent>> watchers = new CopyOnWriteArrayList<>();
  private final Map<String, NodeStatus> nodes = new TreeMap<>();
  private final Map<String, TrainingRun> runs = new LinkedHashMap<>();
  private long revision;
  private boolean closed;

  private Registry(Path dir, Clock clock) throws IOException {
    this.clock = clock;
    this.signing = ModelSigning.openOrCreate(dir.resolve("signing"));
    this.artifacts = new ArtifactStore(dir);
    this.journal = RegistryJournal.open(dir.resolve("journal"), this::apply);
  }

  /**
   * Opens the registry in {@code dir}, creating it if needed.
   *
   * @throws IOException when the directory or the journal cannot be read
   */
  static Registry open(Path dir, Clock clock) throws IOException {
    return new Registry(dir, clock);
  }

  /** The key that verifies this registry's signatures ({@code signing/ed25519.pub}). */
  java.security.PublicKey signingKey() {
    return signing.publicKey();
  }

  /** A fresh staging file for an upload; moved into place by {@link #register}. */
  synchronized Path stagingFile() throws IOException {
    ensureOpen();
    return artifacts.stagingFile();
  }

  /** Where the artifact with this hash is stored. */
  Path artifact(String sha256) {
    return artifacts.path(sha256);
  }

  /**
   * Registers a version whose artifact was staged in {@code staged} (moved, not copied).
   *
   * @throws RegistryException INVALID naming the bad field of {@code spec}
   */
  synchronized ModelVersion register(
      ModelVersionSpec spec, Path staged, String sha256, long size, String by) throws IOException {
    ensureOpen();
    VersionChecks.spec(spec);
    artifacts.put(staged, sha256);
    return newVersion(spec, sha256, size, by);
  }

  private ModelVersion newVersion(ModelVersionSpec spec, String sha256, long size, String by)
      throws IOException {
    List<ModelVersion> existing = versions.getOrDefault(spec.getName(), List.of());
    ModelVersion version =
        ModelVersion.newBuilder()
            .setName(spec.getName())
            .setVersion(existing.size() + 1L)
            .setSpec(spec)
            .setSha256(sha256)
            .setSizeBytes(size)
            .setCreatedBy(by)
            .setCreatedAtMs(clock.millis())
            .build();
    version = signing.sign(version);
    append(RegistryJournalEntry.newBuilder().setVersion(version).build());
    return version;
  }

  /**
   * Records a training run whose best model's artifact was staged in {@code staged} (moved).
   *
   * @return the run as kept: with its id, artifact digest and size, who and when
   * @throws RegistryException INVALID naming the bad field
   */
  synchronized TrainingRun recordRun(
      TrainingRun run, Path staged, String sha256, long size, String by) throws IOException {
    ensureOpen();
    VersionChecks.run(run);
    artifacts.put(staged, sha256);
    String id;
    do {
      id = "run-" + java.util.HexFormat.of().formatHex(randomBytes(6));
    } while (runs.containsKey(id));
    TrainingRun recorded =
        run.toBuilder()
            .setId(id)
            .setSha256(sha256)
            .setSizeBytes(size)
            .setBy(by)
            .setRecordedAtMs(clock.millis())
            .build();
    append(RegistryJournalEntry.newBuilder().setRun(recorded).build());
    return recorded;
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    java.util.concurrent.ThreadLocalRandom.current().nextBytes(b);
    return b;
  }

  /** Recorded runs, oldest first, without their trials; only {@code model}'s unless empty. */
  synchronized List<TrainingRun> runs(String model) {
    return runs.values().stream()
        .filter(r -> model.isEmpty() || r.getModel().equals(model))
        .map(r -> r.toBuilder().clearTrials().build())
        .toList();
  }

  /**
   * One run, trials included.
   *
   * @throws RegistryException NOT_FOUND
   */
  synchronized TrainingRun run(String id) {
    TrainingRun run = runs.get(id);
    if (run == null) {
      throw RegistryException.notFound("no run with id '" + id + "'");
    }
    return run;
  }

  /**
   * Registers a run's best model as the next version of its model, the spec naming the run.
   *
   * @throws RegistryException NOT_FOUND for an unknown run
   */
  synchronized ModelVersion registerFromRun(String id, String by) throws IOException {
    ensureOpen();
    TrainingRun run = run(id);
    return newVersion(
        run.getSpec().toBuilder().setRunId(id).build(), run.getSha256(), run.getSizeBytes(), by);
  }

  /**
   * Sets an alias's policy.
   *
   * @throws RegistryException NOT_FOUND for an unknown model or version, INVALID for a malformed
   *     policy, STALE_REVISION for a stale expected revision
   */
  synchronized AliasState setAlias(SetAliasRequest request, String by) throws IOException {
    ensureOpen();
    String model = request.getModel();
    List<ModelVersion> known = versionsOf(model);
    VersionChecks.alias(request.getAlias());
    VersionChecks.policy(request.getPolicy(), known, model);
    if (request.getReason().startsWith(ROLLBACK)) {
      throw RegistryException.invalid("reason: '" + ROLLBACK + "' is reserved for Rollback");
    }
    AliasState current = aliases.getOrDefault(model, Map.of()).get(request.getAlias());
    if (request.getExpectedRevision() > 0) {
      long actual = current == null ? 0 : current.getRevision();
      if (actual != request.getExpectedRevision()) {
        throw new RegistryException(
            RegistryException.Reason.STALE_REVISION,
            "alias '"
                + request.getAlias()
                + "' of '"
                + model
                + "' is at revision "
                + actual
                + ", not "
                + request.getExpectedRevision());
      }
    }
    String reason = request.getReason().isEmpty() ? "promote" : request.getReason();
    return change(model, request.getAlias(), current, request.getPolicy(), reason, by);
  }

  /**
   * Moves an alias back to the policy before its latest change that was not itself rolled back.
   *
   * @throws RegistryException NOT_FOUND for an unknown alias, NOTHING_TO_ROLL_BACK when the alias
   *     has no earlier policy
   */
  synchronized AliasState rollback(String model, String alias, String reason, String by)
      throws IOException {
    ensureOpen();
    versionsOf(model);
    AliasState current = aliases.getOrDefault(model, Map.of()).get(alias);
    if (current == null) {
      throw RegistryException.notFound("model '" + model + "' has no alias '" + alias + "'");
    }
    Deque<TrafficPolicy> stack = earlier.get(model + "/" + alias);
    if (stack == null || stack.isEmpty()) {
      throw new RegistryException(
          RegistryException.Reason.NOTHING_TO_ROLL_BACK,
          "alias '" + alias + "' of '" + model + "' has no earlier policy to roll back to");
    }
    String why = reason.isEmpty() ? ROLLBACK : ROLLBACK + ": " + reason;
    return change(model, alias, current, stack.peekLast(), why, by);
  }

  private AliasState change(
      String model, String alias, AliasState current, TrafficPolicy to, String reason, String by)
      throws IOException {
    AliasChange.Builder change =
        AliasChange.newBuilder()
            .setModel(model)
            .setAlias(alias)
            .setTo(to)
            .setRevision(revision + 1)
            .setAtMs(clock.millis())
            .setBy(by)
            .setReason(reason);
    if (current != null) {
      change.setFrom(current.getPolicy());
    }
    append(RegistryJournalEntry.newBuilder().setAliasChange(change).build());
    return aliases.get(model).get(alias);
  }

  /** Changes of one alias (or all aliases of the model when empty), newest first. */
  synchronized List<AliasChange> history(String model, String alias, int limit) {
    versionsOf(model);
    List<AliasChange> out = new ArrayList<>();
    for (int i = changes.size() - 1; i >= 0 && (limit <= 0 || out.size() < limit); i--) {
      AliasChange c = changes.get(i);
      if (c.getModel().equals(model) && (alias.isEmpty() || c.getAlias().equals(alias))) {
        out.add(c);
      }
    }
    return out;
  }

  synchronized List<Model> list(String prefix) {
    List<Model> out = new ArrayList<>();
    for (String name : versions.keySet()) {
      if (name.startsWith(prefix)) {
        out.add(model(name));
      }
    }
    return out;
  }

  /**
   * @throws RegistryException NOT_FOUND for an unknown model
   */
  synchronized Model model(String name) {
    List<ModelVersion> all = versionsOf(name);
    return Model.newBuilder()
        .setName(name)
        .addAllVersions(all)
        .addAllAliases(aliases.getOrDefault(name, Map.of()).values())
        .build();
  }

  /**
   * The version a reference names; an alias resolves to its highest-weight split.
   *
   * @throws RegistryException NOT_FOUND for an unknown model, version or alias
   */
  synchronized ModelVersion resolve(ModelRef ref) {
    List<ModelVersion> all = versionsOf(ref.getName());
    long version;
    if (ref.getSelectorCase() == ModelRef.SelectorCase.VERSION) {
      version = ref.getVersion();
    } else {
      String alias = ref.getSelectorCase() == ModelRef.SelectorCase.ALIAS ? ref.getAlias() : "prod";
      AliasState state = aliases.getOrDefault(ref.getName(), Map.of()).get(alias);
      if (state == null) {
        throw RegistryException.notFound(
            "model '" + ref.getName() + "' has no alias '" + alias + "'");
      }
      version =
          state.getPolicy().getSplitsList().stream()
              .max(Comparator.comparingInt(TrafficSplit::getWeight))
              .orElseThrow()
              .getVersion();
    }
    if (version < 1 || version > all.size()) {
      throw RegistryException.notFound(
          "model '" + ref.getName() + "' has versions 1.." + all.size() + ", not " + version);
    }
    return all.get((int) version - 1);
  }

  /**
   * Records a node's status.
   *
   * @throws RegistryException INVALID for a malformed node id, or a model, alias or serving version
   *     the registry does not have: a node cannot report what does not exist
   */
  synchronized long report(NodeStatus status) {
    VersionChecks.report(
        status,
        versions.get(status.getModel()),
        aliases.getOrDefault(status.getModel(), Map.of()).keySet());
    nodes.put(status.getNodeId() + "/" + status.getModel() + "/" + status.getAlias(), status);
    return revision;
  }

  synchronized List<NodeStatus> nodeStatuses(String model) {
    return nodes.values().stream()
        .filter(s -> model.isEmpty() || s.getModel().equals(model))
        .toList();
  }

  /**
   * Sends {@code watcher} the current state (every alias when {@code afterRevision} is 0, else the
   * changes after that revision), then every later change, in revision order, until the returned
   * handle is closed. The watcher runs under the registry's lock: it must not block.
   */
  synchronized AutoCloseable watch(
      Set<String> models, long afterRevision, Consumer<WatchEvent> watcher) {
    ensureOpen();
    Consumer<WatchEvent> filtered =
        e -> {
          String model = e.hasAlias() ? e.getAlias().getModel() : e.getVersion().getName();
          if (models.isEmpty() || models.contains(model)) {
            watcher.accept(e);
          }
        };
    if (afterRevision <= 0) {
      List<AliasState> all = new ArrayList<>();
      aliases.values().forEach(m -> all.addAll(m.values()));
      all.sort(Comparator.comparingLong(AliasState::getRevision));
      for (AliasState a : all) {
        filtered.accept(WatchEvent.newBuilder().setRevision(a.getRevision()).setAlias(a).build());
      }
    } else {
      for (WatchEvent e : events) {
        if (e.getRevision() > afterRevision) {
          filtered.accept(e);
        }
      }
    }
    watchers.add(filtered);
    return () -> watchers.remove(filtered);
  }

  synchronized long revision() {
    return revision;
  }

  private void append(RegistryJournalEntry entry) throws IOException {
    journal.append(entry);
    WatchEvent event = apply(entry);
    if (event == null) {
      return; // nothing a node follows
    }
    for (Consumer<WatchEvent> w : watchers) {
      try {
        w.accept(event);
      } catch (RuntimeException e) {
        watchers.remove(w); // a broken watcher (its call was cancelled) must not stop writes
      }
    }
  }

  /**
   * Applies one journal entry to the in-memory state; returns its watch event, or null for one that
   * nodes do not follow (a run).
   */
  private WatchEvent apply(RegistryJournalEntry entry) {
    revision++;
    WatchEvent.Builder event = WatchEvent.newBuilder().setRevision(revision);
    switch (entry.getEntryCase()) {
      case RUN -> {
        runs.put(entry.getRun().getId(), entry.getRun());
        return null;
      }
      case VERSION -> {
        ModelVersion v = entry.getVersion();
        versions.computeIfAbsent(v.getName(), n -> new ArrayList<>()).add(v);
        event.setVersion(v);
      }
      case ALIAS_CHANGE -> {
        AliasChange c = entry.getAliasChange().toBuilder().setRevision(revision).build();
        changes.add(c);
        Deque<TrafficPolicy> stack =
            earlier.computeIfAbsent(c.getModel() + "/" + c.getAlias(), k -> new ArrayDeque<>());
        if (c.getReason().startsWith(ROLLBACK)) {
          stack.pollLast();
        } else if (c.hasFrom()) {
          stack.addLast(c.getFrom());
        }
        AliasState state =
            AliasState.newBuilder()
                .setModel(c.getModel())
                .setAlias(c.getAlias())
                .setPolicy(c.getTo())
                .setRevision(revision)
                .setUpdatedAtMs(c.getAtMs())
                .setUpdatedBy(c.getBy())
                .build();
        aliases.computeIfAbsent(c.getModel(), m -> new TreeMap<>()).put(c.getAlias(), state);
        event.setAlias(state);
      }
      default -> throw new IllegalStateException("journal entry without content at " + revision);
    }
    WatchEvent built = event.build();
    events.add(built);
    return built;
  }

  private List<ModelVersion> versionsOf(String model) {
    List<ModelVersion> all = versions.get(model);
    if (all == null) {
      throw RegistryException.notFound("no model named '" + model + "' is registered");
    }
    return all;
  }

  private void ensureOpen() {
    if (closed) {
      throw new RegistryException(RegistryException.Reason.CLOSED, "the registry is closed");
    }
  }

  @Override
  public synchronized void close() throws IOException {
    if (!closed) {
      closed = true;
      watchers.clear();
      journal.close();
    }
  }
}
