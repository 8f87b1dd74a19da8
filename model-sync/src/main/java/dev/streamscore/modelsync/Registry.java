package dev.streamscore.modelsync;

import dev.streamscore.etl.FeatureRef;
import dev.streamscore.proto.v1.AliasChange;
import dev.streamscore.proto.v1.AliasState;
import dev.streamscore.proto.v1.Model;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.NodeStatus;
import dev.streamscore.proto.v1.RegistryJournalEntry;
import dev.streamscore.proto.v1.SetAliasRequest;
import dev.streamscore.proto.v1.TrafficPolicy;
import dev.streamscore.proto.v1.TrafficSplit;
import dev.streamscore.proto.v1.WatchEvent;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The registry's state: versions, aliases with their history, node reports, and the artifacts,
 * under one directory.
 *
 * <p>Every write appends one {@link RegistryJournalEntry} to {@code journal} and forces it to disk
 * before it is acknowledged; opening replays the journal, so the registry-wide revision (the
 * entry's position) survives restarts. Artifacts live under {@code artifacts/sha256/<hex>}, written
 * to a staging file first and moved into place, so a crash never leaves a half-written artifact
 * under its address. Node reports are kept in memory: nodes report after every attempt.
 *
 * <p>Thread-safe; writes are serialized. Errors are {@link StatusRuntimeException}s with the status
 * the RPC answers.
 */
final class Registry implements AutoCloseable {
  private static final Pattern NAME = ModelAlias.NAME;
  private static final Pattern ALIAS = ModelAlias.NAME;
  private static final Pattern NODE = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
  static final String ROLLBACK = "rollback";

  private final Path dir;
  private final Clock clock;
  private final OutputStream journal;
  private final FileChannel journalChannel;
  private final Map<String, List<ModelVersion>> versions = new TreeMap<>();
  private final Map<String, Map<String, AliasState>> aliases = new TreeMap<>();

  /** Earlier policies of each alias, newest last: what rollback returns to. */
  private final Map<String, Deque<TrafficPolicy>> earlier = new LinkedHashMap<>();

  private final List<AliasChange> changes = new ArrayList<>();
  private final List<WatchEvent> events = new ArrayList<>();
  private final List<Consumer<WatchEvent>> watchers = new CopyOnWriteArrayList<>();
  private final Map<String, NodeStatus> nodes = new TreeMap<>();
  private long revision;
  private boolean closed;

  private Registry(Path dir, Clock clock) throws IOException {
    this.dir = dir;
    this.clock = clock;
    Files.createDirectories(dir.resolve("artifacts/sha256"));
    Files.createDirectories(dir.resolve("staging"));
    Path file = dir.resolve("journal");
    if (Files.exists(file)) {
      try (InputStream in = Files.newInputStream(file)) {
        RegistryJournalEntry entry;
        while ((entry = RegistryJournalEntry.parseDelimitedFrom(in)) != null) {
          apply(entry);
        }
      }
    }
    this.journalChannel =
        FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    this.journal = java.nio.channels.Channels.newOutputStream(journalChannel);
  }

  /**
   * Opens the registry in {@code dir}, creating it if needed.
   *
   * @throws IOException when the directory or the journal cannot be read
   */
  static Registry open(Path dir, Clock clock) throws IOException {
    return new Registry(dir, clock);
  }

  /** A fresh staging file for an upload; moved into place by {@link #register}. */
  synchronized Path stagingFile() throws IOException {
    ensureOpen();
    return Files.createTempFile(dir.resolve("staging"), "upload-", ".part");
  }

  /** Where the artifact with this hash is stored. */
  Path artifact(String sha256) {
    return dir.resolve("artifacts/sha256").resolve(sha256);
  }

  /**
   * Registers a version whose artifact was staged in {@code staged} (moved, not copied).
   *
   * @throws StatusRuntimeException INVALID_ARGUMENT naming the bad field of {@code spec}
   */
  synchronized ModelVersion register(
      ModelVersionSpec spec, Path staged, String sha256, long size, String by) throws IOException {
    ensureOpen();
    check(spec);
    Path target = artifact(sha256);
    if (Files.exists(target)) {
      Files.delete(staged); // same bytes already stored under their address
    } else {
      Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
    }
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
    append(RegistryJournalEntry.newBuilder().setVersion(version).build());
    return version;
  }

  /**
   * Sets an alias's policy.
   *
   * @throws StatusRuntimeException NOT_FOUND for an unknown model or version, INVALID_ARGUMENT for
   *     a malformed policy, ABORTED for a stale expected revision
   */
  synchronized AliasState setAlias(SetAliasRequest request, String by) throws IOException {
    ensureOpen();
    String model = request.getModel();
    List<ModelVersion> known = versionsOf(model);
    requireAlias(request.getAlias());
    checkPolicy(request.getPolicy(), known, model);
    if (request.getReason().startsWith(ROLLBACK)) {
      throw invalid("reason: '" + ROLLBACK + "' is reserved for Rollback");
    }
    AliasState current = aliases.getOrDefault(model, Map.of()).get(request.getAlias());
    if (request.getExpectedRevision() > 0) {
      long actual = current == null ? 0 : current.getRevision();
      if (actual != request.getExpectedRevision()) {
        throw Status.ABORTED
            .withDescription(
                "alias '"
                    + request.getAlias()
                    + "' of '"
                    + model
                    + "' is at revision "
                    + actual
                    + ", not "
                    + request.getExpectedRevision())
            .asRuntimeException();
      }
    }
    String reason = request.getReason().isEmpty() ? "promote" : request.getReason();
    return change(model, request.getAlias(), current, request.getPolicy(), reason, by);
  }

  /**
   * Moves an alias back to the policy before its latest change that was not itself rolled back.
   *
   * @throws StatusRuntimeException NOT_FOUND for an unknown alias, FAILED_PRECONDITION when the
   *     alias has no earlier policy
   */
  synchronized AliasState rollback(String model, String alias, String reason, String by)
      throws IOException {
    ensureOpen();
    versionsOf(model);
    AliasState current = aliases.getOrDefault(model, Map.of()).get(alias);
    if (current == null) {
      throw Status.NOT_FOUND
          .withDescription("model '" + model + "' has no alias '" + alias + "'")
          .asRuntimeException();
    }
    Deque<TrafficPolicy> stack = earlier.get(model + "/" + alias);
    if (stack == null || stack.isEmpty()) {
      throw Status.FAILED_PRECONDITION
          .withDescription(
              "alias '" + alias + "' of '" + model + "' has no earlier policy to roll back to")
          .asRuntimeException();
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
   * @throws StatusRuntimeException NOT_FOUND for an unknown model
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
   * @throws StatusRuntimeException NOT_FOUND for an unknown model, version or alias
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
        throw Status.NOT_FOUND
            .withDescription("model '" + ref.getName() + "' has no alias '" + alias + "'")
            .asRuntimeException();
      }
      version =
          state.getPolicy().getSplitsList().stream()
              .max(Comparator.comparingInt(TrafficSplit::getWeight))
              .orElseThrow()
              .getVersion();
    }
    if (version < 1 || version > all.size()) {
      throw Status.NOT_FOUND
          .withDescription(
              "model '" + ref.getName() + "' has versions 1.." + all.size() + ", not " + version)
          .asRuntimeException();
    }
    return all.get((int) version - 1);
  }

  /** Records a node's report; the latest per (node, model, alias) is kept. */
  /**
   * Records a node's status.
   *
   * @throws StatusRuntimeException INVALID_ARGUMENT for a malformed node id, or a model, alias or
   *     serving version the registry does not have: a node cannot report what does not exist
   */
  synchronized long report(NodeStatus status) {
    if (!NODE.matcher(status.getNodeId()).matches()) {
      throw invalid(
          "node_id must be 1 to 128 of a-z, A-Z, 0-9, '.', '_', ':' and '-', got "
              + quoted(status.getNodeId()));
    }
    List<ModelVersion> known = versions.get(status.getModel());
    if (known == null) {
      throw invalid("model " + quoted(status.getModel()) + " is not registered");
    }
    if (!aliases.getOrDefault(status.getModel(), Map.of()).containsKey(status.getAlias())) {
      throw invalid(
          "model " + quoted(status.getModel()) + " has no alias " + quoted(status.getAlias()));
    }
    for (long v : status.getServingVersionsList()) {
      if (v < 1 || v > known.size()) {
        throw invalid(
            "serving_versions: model "
                + quoted(status.getModel())
                + " has no version "
                + v
                + " (it has 1 to "
                + known.size()
                + ")");
      }
    }
    nodes.put(status.getNodeId() + "/" + status.getModel() + "/" + status.getAlias(), status);
    return revision;
  }

  /** {@code 'name'}, cut to 80 characters: error messages never grow with the input. */
  static String quoted(String text) {
    return "'" + (text.length() <= 80 ? text : text.substring(0, 77) + "...") + "'";
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
    entry.writeDelimitedTo(journal);
    journal.flush();
    journalChannel.force(false);
    WatchEvent event = apply(entry);
    for (Consumer<WatchEvent> w : watchers) {
      try {
        w.accept(event);
      } catch (RuntimeException e) {
        watchers.remove(w); // a broken watcher (its call was cancelled) must not stop writes
      }
    }
  }

  /** Applies one journal entry to the in-memory state; returns its watch event. */
  private WatchEvent apply(RegistryJournalEntry entry) {
    revision++;
    WatchEvent.Builder event = WatchEvent.newBuilder().setRevision(revision);
    switch (entry.getEntryCase()) {
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
      throw Status.NOT_FOUND
          .withDescription("no model named '" + model + "' is registered")
          .asRuntimeException();
    }
    return all;
  }

  private static void requireAlias(String alias) {
    if (!ALIAS.matcher(alias).matches()) {
      throw invalid(
          "alias must be 1 to 64 lower-case letters, digits, '-' or '_', got '" + alias + "'");
    }
  }

  private static void checkPolicy(TrafficPolicy policy, List<ModelVersion> known, String model) {
    if (policy.getSplitsCount() == 0) {
      throw invalid("policy.splits must name at least one version");
    }
    Set<Long> seen = new HashSet<>();
    for (TrafficSplit split : policy.getSplitsList()) {
      requireVersion(split.getVersion(), known, model, "policy.splits");
      if (split.getWeight() <= 0) {
        throw invalid(
            "policy.splits: version "
                + split.getVersion()
                + " has weight "
                + split.getWeight()
                + "; weights must be > 0");
      }
      if (!seen.add(split.getVersion())) {
        throw invalid("policy.splits names version " + split.getVersion() + " twice");
      }
    }
    if (policy.getShadowVersion() != 0) {
      requireVersion(policy.getShadowVersion(), known, model, "policy.shadow_version");
      if (seen.contains(policy.getShadowVersion())) {
        throw invalid(
            "policy.shadow_version "
                + policy.getShadowVersion()
                + " also takes live traffic; a shadow must be another version");
      }
    }
  }

  private static void requireVersion(
      long version, List<ModelVersion> known, String model, String field) {
    if (version < 1 || version > known.size()) {
      throw Status.NOT_FOUND
          .withDescription(
              field
                  + ": model '"
                  + model
                  + "' has versions 1.."
                  + known.size()
                  + ", not "
                  + version)
          .asRuntimeException();
    }
  }

  /** INVALID_ARGUMENT naming the first bad field of a version's description. */
  static void check(ModelVersionSpec spec) {
    if (!NAME.matcher(spec.getName()).matches()) {
      throw invalid(
          "spec.name must be 1 to 64 lower-case letters, digits, '-' or '_', got '"
              + spec.getName()
              + "'");
    }
    if (spec.getFormat() != ModelFormat.MODEL_FORMAT_ONNX
        && spec.getFormat() != ModelFormat.MODEL_FORMAT_XGBOOST_JSON) {
      throw invalid("spec.format must be ONNX or XGBOOST_JSON, got " + spec.getFormat());
    }
    if (spec.getInputsCount() == 0) {
      throw invalid("spec.inputs must name at least one input");
    }
    Set<String> names = new HashSet<>();
    for (int i = 0; i < spec.getInputsCount(); i++) {
      ModelInput in = spec.getInputs(i);
      if (in.getName().isBlank()) {
        throw invalid("spec.inputs[" + i + "].name is empty");
      }
      if (!names.add(in.getName())) {
        throw invalid("spec.inputs[" + i + "]: input '" + in.getName() + "' appears twice");
      }
      String view;
      try {
        view = FeatureRef.of(in.getName()).map(FeatureRef::view).orElse("");
      } catch (IllegalArgumentException e) {
        throw invalid("spec.inputs[" + i + "]: " + e.getMessage());
      }
      if (!in.getView().isEmpty() && !in.getView().equals(view)) {
        throw invalid(
            "spec.inputs["
                + i
                + "]: input '"
                + in.getName()
                + "' says view '"
                + in.getView()
                + "' but its name names view '"
                + view
                + "'");
      }
      if (!Double.isFinite(in.getDefaultValue())) {
        throw invalid("spec.inputs[" + i + "].default_value must be finite");
      }
    }
    if (spec.getOutputsCount() == 0) {
      throw invalid("spec.outputs must name at least one output");
    }
    for (int i = 0; i < spec.getOutputsCount(); i++) {
      ModelOutput out = spec.getOutputs(i);
      if (out.getName().isBlank()) {
        throw invalid("spec.outputs[" + i + "].name is empty");
      }
    }
  }

  static StatusRuntimeException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
  }

  private void ensureOpen() {
    if (closed) {
      throw Status.UNAVAILABLE.withDescription("the registry is closed").asRuntimeException();
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
