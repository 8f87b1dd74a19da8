package dev.streamscore.scoring;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.featurestore.FeatureStore;
import dev.streamscore.modelsync.Lease;
import dev.streamscore.modelsync.ModelUnavailableException;
import dev.streamscore.modelsync.PredictionException;
import dev.streamscore.modelsync.SyncAgent;
import dev.streamscore.proto.v1.FeatureIssue;
import dev.streamscore.proto.v1.Freshness;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.Score;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Scores requests: picks each one's version (alias policy, sticky per entity, or a pinned version),
 * has the {@link InputAssembler} build its input vector, runs the model once per version for a
 * batch, and describes each prediction for the log. Shared by the gRPC service ({@link GrpcScoring}
 * adapts its messages) and stream scoring, so both score the same way. Thread-safe.
 */
public final class Scorer {
  private final FeatureSpec spec;
  private final SyncAgent agent;
  private final String nodeId;
  private final InputAssembler inputs;
  private final LogProgress progress;

  public Scorer(FeatureStore store, FeatureSpec spec, SyncAgent agent, String nodeId) {
    this(store, spec, agent, nodeId, LogProgress.UNKNOWN);
  }

  /**
   * @param progress how far the store is behind the events log: each prediction that read the store
   *     carries the worst freshness of the partitions it read
   */
  public Scorer(
      FeatureStore store, FeatureSpec spec, SyncAgent agent, String nodeId, LogProgress progress) {
    this.spec = spec;
    this.agent = agent;
    this.nodeId = nodeId;
    this.inputs = new InputAssembler(store, spec);
    this.progress = progress;
  }

  /** The feature spec whose views this scorer's models read. */
  public FeatureSpec spec() {
    return spec;
  }

  /**
   * The key field of a source's entities: the name its entity ids go by in {@code entity_ids}.
   *
   * @throws ScoringException INVALID_REQUEST for a source the spec does not declare
   */
  public String keyField(String source) {
    return spec.source(source)
        .orElseThrow(() -> ScoringException.invalid("the spec declares no source '" + source + "'"))
        .keyField();
  }

  /**
   * A scored request: the prediction as the log keeps it, and what only the caller sees.
   *
   * @param prediction what goes to {@code predictions.<model>}
   * @param issues inputs that took their default, and why
   * @param oldestFeatureTimeMs the event time of the oldest stored feature read, 0 for none
   * @param vector the model's input vector
   */
  public record Scored(
      Prediction prediction, List<FeatureIssue> issues, long oldestFeatureTimeMs, float[] vector) {}

  /**
   * Scores {@code request} with the features as of {@code asOfMs}.
   *
   * @param shadow receives a shadow version's task when the alias names one (scored by the caller
   *     off the request path through {@link #scoreShadow})
   * @throws ScoringException saying why it was not scored
   */
  public Scored score(ScoreRequest request, long asOfMs, Consumer<ShadowTask> shadow) {
    Outcome outcome = score(List.of(request), asOfMs, shadow).get(0);
    if (outcome.failure() != null) {
      throw outcome.failure();
    }
    return outcome.scored();
  }

  /** One request's outcome in a batch: scored, or why not. */
  public record Outcome(Scored scored, ScoringException failure) {
    public Outcome {
      if ((scored == null) == (failure == null)) {
        throw new IllegalArgumentException("exactly one of scored and failure");
      }
    }
  }

  /**
   * Scores several requests, each as {@link #score(ScoreRequest, long, Consumer)} would, but with
   * one feature-store read per entity key and one model call per version for the whole batch: a
   * stream's requests share those fixed costs. One request's failure does not fail the others.
   *
   * @return one outcome per request, in order
   */
  public List<Outcome> score(
      List<ScoreRequest> requests, long asOfMs, Consumer<ShadowTask> shadow) {
    long began = System.nanoTime();
    Pending[] items = new Pending[requests.size()];
    // Requests grouped by the version's metadata object: a node hands every lease of a loaded
    // version the same one, and a batch rarely spans more than two versions.
    List<ModelVersion> versions = new ArrayList<>(2);
    List<List<Pending>> groups = new ArrayList<>(2);
    try {
      for (int i = 0; i < items.length; i++) {
        Pending item = new Pending(requests.get(i));
        items[i] = item;
        try {
          acquire(item);
          ModelVersion meta = item.lease.metadata();
          int g = 0;
          while (g < versions.size() && versions.get(g) != meta) {
            g++;
          }
          if (g == versions.size()) {
            versions.add(meta);
            groups.add(new ArrayList<>(items.length));
          }
          groups.get(g).add(item);
        } catch (ScoringException e) {
          item.failure = e;
        }
      }
      for (List<Pending> group : groups) {
        run(group, asOfMs, Role.LIVE, began);
      }
    } finally {
      for (Pending item : items) {
        if (item != null && item.lease != null) {
          item.lease.close();
        }
      }
    }
    List<Outcome> out = new ArrayList<>(items.length);
    for (Pending item : items) {
      if (item.failure != null) {
        out.add(new Outcome(null, item.failure));
        continue;
      }
      out.add(new Outcome(item.scored, null));
      String model = item.request.model().getName();
      if (!item.alias.isEmpty() && agent.shadowVersion(model, item.alias) != 0) {
        shadow.accept(new ShadowTask(item.request, asOfMs, item.alias));
      }
    }
    return out;
  }

  /** A shadow scoring to run off the request path. */
  public record ShadowTask(ScoreRequest request, long asOfMs, String alias) {}

  /** Whether a prediction answers the caller or shadows a live one. */
  private enum Role {
    LIVE,
    SHADOW
  }

  /**
   * Scores {@code task} with the alias's shadow version, if it names one.
   *
   * @return the shadow prediction for the log; empty without a shadow version
   * @throws ScoringException as {@link #score}
   */
  public Optional<Prediction> scoreShadow(ShadowTask task) {
    long began = System.nanoTime();
    Optional<Lease> lease = agent.acquireShadow(task.request().model().getName(), task.alias());
    if (lease.isEmpty()) {
      return Optional.empty();
    }
    Pending item = new Pending(task.request());
    item.alias = task.alias();
    try (Lease l = lease.get()) {
      item.lease = l;
      run(List.of(item), task.asOfMs(), Role.SHADOW, began);
    }
    if (item.failure != null) {
      throw item.failure;
    }
    return Optional.of(item.scored.prediction());
  }

  private void acquire(Pending item) {
    ModelRef ref = item.request.model();
    if (ref.getName().isEmpty()) {
      throw ScoringException.invalid("model.name is empty");
    }
    try {
      if (ref.getSelectorCase() == ModelRef.SelectorCase.VERSION) {
        if (ref.getVersion() < 1) {
          throw ScoringException.invalid("model.version must be >= 1, got " + ref.getVersion());
        }
        item.lease = agent.acquirePinned(ref.getName(), ref.getVersion());
      } else {
        String alias =
            ref.getSelectorCase() == ModelRef.SelectorCase.ALIAS ? ref.getAlias() : "prod";
        item.lease = agent.acquire(ref.getName(), alias, routingKey(item.request));
        item.alias = alias;
      }
    } catch (ModelUnavailableException e) {
      throw switch (e.reason()) {
        case UNKNOWN_MODEL ->
            new ScoringException(
                ScoringException.Reason.UNKNOWN_MODEL, "model.name: " + e.getMessage());
        case NOT_SERVED -> new ScoringException(ScoringException.Reason.NOT_SERVED, e.getMessage());
        case NOT_LOADED -> new ScoringException(ScoringException.Reason.NOT_LOADED, e.getMessage());
      };
    }
  }

  /** Assembles, predicts and describes {@code group}: requests for one model version. */
  private void run(List<Pending> group, long asOfMs, Role role, long began) {
    ModelVersion meta = group.get(0).lease.metadata();
    inputs.assemble(group, meta, asOfMs);
    List<Pending> ready = new ArrayList<>(group.size());
    for (Pending item : group) {
      if (item.failure == null) {
        ready.add(item);
      }
    }
    if (ready.isEmpty()) {
      return;
    }
    float[][] in = new float[ready.size()][];
    for (int i = 0; i < in.length; i++) {
      in[i] = ready.get(i).vector;
    }
    float[][] out;
    try {
      out = ready.get(0).lease.predictBatch(in);
    } catch (PredictionException e) {
      ScoringException failure =
          new ScoringException(
              ScoringException.Reason.MODEL_FAILED,
              meta.getName() + " v" + meta.getVersion() + " failed: " + e.getMessage());
      ready.forEach(item -> item.failure = failure);
      return;
    }
    long latencyUs = (System.nanoTime() - began) / 1_000;
    for (int i = 0; i < in.length; i++) {
      Pending item = ready.get(i);
      if (out[i].length != meta.getSpec().getOutputsCount()) {
        item.failure =
            new ScoringException(
                ScoringException.Reason.MODEL_FAILED,
                meta.getName()
                    + " v"
                    + meta.getVersion()
                    + " returned "
                    + out[i].length
                    + " values for "
                    + meta.getSpec().getOutputsCount()
                    + " outputs");
        continue;
      }
      item.scored = describe(item, meta, out[i], asOfMs, role, latencyUs);
    }
  }

  private Scored describe(
      Pending item, ModelVersion meta, float[] out, long asOfMs, Role role, long latencyUs) {
    ScoreRequest request = item.request;
    long oldest = item.oldestFeatureTimeMs == Long.MAX_VALUE ? 0 : item.oldestFeatureTimeMs;
    Prediction.Builder prediction =
        Prediction.newBuilder()
            .setRequestId(request.requestId())
            .putAllEntityIds(request.entityIds())
            .setModelName(meta.getName())
            .setModelVersion(meta.getVersion())
            .setAlias(item.alias)
            .setShadow(role == Role.SHADOW)
            .setPredictedAtMs(asOfMs)
            .setLatencyUs(latencyUs)
            .setFeatureHash(hash(item.vector))
            .addAllFeaturePositions(item.positions)
            .setNodeId(nodeId);
    for (int i = 0; i < item.featureTimeMs.length; i++) {
      if (item.featureTimeMs[i] != Pending.NO_TIME) {
        prediction.putFeatureTimeMs(meta.getSpec().getInputs(i).getName(), item.featureTimeMs[i]);
      }
    }
    for (int i = 0; i < out.length; i++) {
      prediction.addScores(
          Score.newBuilder()
              .setName(meta.getSpec().getOutputs(i).getName())
              .setValue(out[i])
              .build());
    }
    for (FeatureIssue issue : item.issues) {
      for (int i = 0; i < meta.getSpec().getInputsCount(); i++) {
        if (meta.getSpec().getInputs(i).getName().equals(issue.getFeature())) {
          prediction.addDefaultedInputs(i);
        }
      }
    }
    Freshness freshness = freshness(item.storeReads);
    if (freshness != null) {
      prediction.setFreshness(freshness);
    }
    return new Scored(prediction.build(), item.issues, oldest, item.vector);
  }

  /** The worst freshness of the partitions read, or null when none was read or none is known. */
  private Freshness freshness(Map<String, String> storeReads) {
    Freshness worst = null;
    for (Map.Entry<String, String> read : storeReads.entrySet()) {
      Freshness f = progress.freshness(read.getKey(), read.getValue()).orElse(null);
      if (f != null && (worst == null || f.getBehindMs() > worst.getBehindMs())) {
        worst = f;
      }
    }
    return worst;
  }

  /** The entity ids in key order: a key keeps its version under a fixed canary split. */
  private static String routingKey(ScoreRequest request) {
    if (request.entityIds().isEmpty()) {
      return request.requestId();
    }
    if (request.entityIds().size() == 1) {
      return request.entityIds().values().iterator().next();
    }
    return String.join("|", new TreeMap<>(request.entityIds()).values());
  }

  /** 64-bit FNV-1a over the vector's float bits: joins predictions with training rows. */
  static long hash(float[] vector) {
    long h = 0xcbf29ce484222325L;
    for (float f : vector) {
      int bits = Float.floatToIntBits(f);
      for (int b = 0; b < 4; b++) {
        h ^= (bits >>> (8 * b)) & 0xff;
        h *= 0x100000001b3L;
      }
    }
    return h;
  }
}
