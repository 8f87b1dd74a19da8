package dev.streamscore.scoring;

import dev.streamscore.etl.FeatureRef;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.featurestore.FeatureStore;
import dev.streamscore.modelsync.Lease;
import dev.streamscore.modelsync.ModelUnavailableException;
import dev.streamscore.modelsync.PredictionException;
import dev.streamscore.modelsync.SyncAgent;
import dev.streamscore.proto.v1.EntityFeatures;
import dev.streamscore.proto.v1.FeatureIssue;
import dev.streamscore.proto.v1.FeatureStatus;
import dev.streamscore.proto.v1.FeatureValue;
import dev.streamscore.proto.v1.MissingPolicy;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.PredictResponse;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.Score;
import dev.streamscore.proto.v1.Value;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Scores one request: picks the version (alias policy, sticky per entity, or a pinned version),
 * assembles the input vector in the model's declared order from the request's features and the
 * node's feature store, runs the model, and describes the prediction for the log. Shared by the
 * gRPC service and stream scoring, so both score the same way.
 *
 * <p>Stored inputs ({@code view:feature}) are read at {@code asOfMs} for the entity that keys their
 * view; a MISSING or EXPIRED value follows the input's policy (its default, reported as a {@link
 * FeatureIssue}, or FAILED_PRECONDITION naming the feature). Thread-safe.
 */
public final class Scorer {
  private final FeatureStore store;
  private final FeatureSpec spec;
  private final SyncAgent agent;
  private final String nodeId;

  /** Per model version: its inputs grouped for lookup. Versions never change once registered. */
  private final Map<String, Plan> plans = new ConcurrentHashMap<>();

  // Request features that a source declares bool may be given as booleans (0 or 1); others not.
  private final java.util.Set<String> boolFields;

  public Scorer(FeatureStore store, FeatureSpec spec, SyncAgent agent, String nodeId) {
    this.store = store;
    this.spec = spec;
    this.boolFields =
        spec.sources().values().stream()
            .flatMap(source -> source.fields().values().stream())
            .filter(f -> f.type() == dev.streamscore.etl.FieldType.BOOL)
            .map(dev.streamscore.etl.FieldSpec::name)
            .collect(java.util.stream.Collectors.toUnmodifiableSet());
    this.agent = agent;
    this.nodeId = nodeId;
  }

  /**
   * The key field of a source's entities: the name its entity ids go by in {@code entity_ids}.
   *
   * @throws ScoringException INVALID_ARGUMENT for a source the spec does not declare
   */
  public String keyField(String source) {
    return spec.source(source)
        .orElseThrow(() -> ScoringException.invalid("the spec declares no source '" + source + "'"))
        .keyField();
  }

  /** The outcome: what the caller gets, and what goes to {@code predictions.<model>}. */
  public record Scored(PredictResponse response, Prediction prediction) {}

  /**
   * Scores {@code request} with the features as of {@code asOfMs}.
   *
   * @param shadow receives a shadow version's prediction when the alias names one (scored by the
   *     caller off the request path through {@link #scoreShadow})
   * @throws ScoringException with the status the call answers
   */
  public Scored score(PredictRequest request, long asOfMs, Consumer<ShadowTask> shadow) {
    return score(request, asOfMs, shadow, false);
  }

  /**
   * As {@link #score(PredictRequest, long, Consumer)}; with {@code ignoreExtraFeatures}, request
   * features the model does not take are ignored instead of refused (stream scoring passes all of
   * an event's fields).
   */
  public Scored score(
      PredictRequest request,
      long asOfMs,
      Consumer<ShadowTask> shadow,
      boolean ignoreExtraFeatures) {
    Outcome outcome = score(List.of(request), asOfMs, shadow, ignoreExtraFeatures).get(0);
    if (outcome.failure() != null) {
      throw outcome.failure();
    }
    return outcome.scored();
  }

  /** One request's outcome in a batch: scored, or the status it is answered with. */
  public record Outcome(Scored scored, ScoringException failure) {
    public Outcome {
      if ((scored == null) == (failure == null)) {
        throw new IllegalArgumentException("exactly one of scored and failure");
      }
    }
  }

  /**
   * Scores several requests, each as {@link #score(PredictRequest, long, Consumer)} would, but with
   * one feature-store read per entity key and one model call per version for the whole batch: a
   * stream's requests share those fixed costs. One request's failure does not fail the others.
   *
   * @return one outcome per request, in order
   */
  public List<Outcome> score(
      List<PredictRequest> requests,
      long asOfMs,
      Consumer<ShadowTask> shadow,
      boolean ignoreExtraFeatures) {
    long began = System.nanoTime();
    Item[] items = new Item[requests.size()];
    Map<String, List<Item>> byVersion = new LinkedHashMap<>();
    try {
      for (int i = 0; i < items.length; i++) {
        Item item = new Item(requests.get(i));
        items[i] = item;
        try {
          acquire(item);
          ModelVersion meta = item.lease.metadata();
          byVersion
              .computeIfAbsent(meta.getName() + "@" + meta.getVersion(), k -> new ArrayList<>())
              .add(item);
        } catch (ScoringException e) {
          item.failure = e;
        }
      }
      for (List<Item> group : byVersion.values()) {
        run(group, asOfMs, false, ignoreExtraFeatures, began);
      }
    } finally {
      for (Item item : items) {
        if (item != null && item.lease != null) {
          item.lease.close();
        }
      }
    }
    List<Outcome> out = new ArrayList<>(items.length);
    for (Item item : items) {
      if (item.failure != null) {
        out.add(new Outcome(null, item.failure));
        continue;
      }
      out.add(new Outcome(item.scored, null));
      String model = item.request.getModel().getName();
      if (!item.alias.isEmpty() && agent.shadowVersion(model, item.alias) != 0) {
        shadow.accept(new ShadowTask(item.request, asOfMs, item.alias));
      }
    }
    return out;
  }

  /** A shadow scoring to run off the request path. */
  public record ShadowTask(PredictRequest request, long asOfMs, String alias) {}

  /**
   * Scores {@code task} with the alias's shadow version, if it names one.
   *
   * @return the shadow prediction for the log; empty without a shadow version
   * @throws ScoringException as {@link #score}
   */
  public Optional<Prediction> scoreShadow(ShadowTask task) {
    long began = System.nanoTime();
    Optional<Lease> lease = agent.acquireShadow(task.request().getModel().getName(), task.alias());
    if (lease.isEmpty()) {
      return Optional.empty();
    }
    Item item = new Item(task.request());
    item.alias = task.alias();
    try (Lease l = lease.get()) {
      item.lease = l;
      run(List.of(item), task.asOfMs(), true, false, began);
    }
    if (item.failure != null) {
      throw item.failure;
    }
    return Optional.of(item.scored.prediction());
  }

  /** One request on its way through a batch. */
  private static final class Item {
    final PredictRequest request;
    String alias = "";
    Lease lease;
    float[] vector;
    List<FeatureIssue> issues;
    Map<String, Long> featureTimes;
    long oldestFeatureTimeMs = Long.MAX_VALUE;
    ScoringException failure;
    Scored scored;

    Item(PredictRequest request) {
      this.request = request;
    }
  }

  private void acquire(Item item) {
    ModelRef ref = item.request.getModel();
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
      throw new ScoringException(
          switch (e.reason()) {
            case UNKNOWN_MODEL -> Status.Code.INVALID_ARGUMENT;
            case NOT_SERVED -> Status.Code.NOT_FOUND;
            case NOT_LOADED -> Status.Code.UNAVAILABLE;
          },
          (e.reason() == ModelUnavailableException.Reason.UNKNOWN_MODEL ? "model.name: " : "")
              + e.getMessage());
    }
  }

  /** Assembles, predicts and describes {@code group}: requests for one model version. */
  private void run(
      List<Item> group, long asOfMs, boolean shadow, boolean ignoreExtraFeatures, long began) {
    ModelVersion meta = group.get(0).lease.metadata();
    Plan plan = plans.computeIfAbsent(meta.getName() + "@" + meta.getVersion(), k -> plan(meta));
    String model = meta.getName() + " v" + meta.getVersion();
    for (Item item : group) {
      try {
        assembleRequestFeatures(plan, meta, item, ignoreExtraFeatures, model);
      } catch (ScoringException e) {
        item.failure = e;
      }
    }
    for (KeyGroup key : plan.stored()) {
      assembleStored(key, meta, group, asOfMs, model);
    }
    List<Item> ready = new ArrayList<>(group.size());
    for (Item item : group) {
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
          new ScoringException(Status.Code.INTERNAL, model + " failed: " + e.getMessage());
      ready.forEach(item -> item.failure = failure);
      return;
    }
    long latencyUs = (System.nanoTime() - began) / 1_000;
    for (int i = 0; i < in.length; i++) {
      Item item = ready.get(i);
      if (out[i].length != meta.getSpec().getOutputsCount()) {
        item.failure =
            new ScoringException(
                Status.Code.INTERNAL,
                model
                    + " returned "
                    + out[i].length
                    + " values for "
                    + meta.getSpec().getOutputsCount()
                    + " outputs");
        continue;
      }
      item.scored = describe(item, meta, out[i], asOfMs, shadow, latencyUs);
    }
  }

  private Scored describe(
      Item item, ModelVersion meta, float[] out, long asOfMs, boolean shadow, long latencyUs) {
    PredictRequest request = item.request;
    long oldest = item.oldestFeatureTimeMs == Long.MAX_VALUE ? 0 : item.oldestFeatureTimeMs;
    PredictResponse.Builder response =
        PredictResponse.newBuilder()
            .setRequestId(request.getRequestId())
            .setModelName(meta.getName())
            .setModelVersion(meta.getVersion())
            .setOldestFeatureTimeMs(oldest)
            .addAllFeatureIssues(item.issues)
            .setServerLatencyUs(latencyUs);
    Prediction.Builder prediction =
        Prediction.newBuilder()
            .setRequestId(request.getRequestId())
            .putAllEntityIds(request.getEntityIdsMap())
            .setModelName(meta.getName())
            .setModelVersion(meta.getVersion())
            .setAlias(item.alias)
            .setShadow(shadow)
            .setPredictedAtMs(asOfMs)
            .setLatencyUs(latencyUs)
            .setFeatureHash(hash(item.vector))
            .putAllFeatureTimeMs(item.featureTimes)
            .setNodeId(nodeId);
    for (int i = 0; i < out.length; i++) {
      Score score =
          Score.newBuilder()
              .setName(meta.getSpec().getOutputs(i).getName())
              .setValue(out[i])
              .build();
      response.addScores(score);
      prediction.addScores(score);
    }
    if (request.getIncludeFeatures()) {
      for (float f : item.vector) {
        response.addFeatures(f);
      }
    }
    return new Scored(response.build(), prediction.build());
  }

  /**
   * A version's inputs: stored ones grouped by the entity key of their view (each group read
   * through one prepared lookup), request-time ones by name.
   */
  private record Plan(List<KeyGroup> stored, Map<String, Integer> requestInputs) {}

  /** Stored inputs read for one entity key: their positions in the vector, and their lookup. */
  private record KeyGroup(String key, int[] positions, FeatureStore.Lookup lookup) {}

  private Plan plan(ModelVersion meta) {
    Map<String, List<Integer>> byKey = new TreeMap<>();
    Map<String, Integer> request = new LinkedHashMap<>();
    for (int i = 0; i < meta.getSpec().getInputsCount(); i++) {
      String name = meta.getSpec().getInputs(i).getName();
      var ref = FeatureRef.of(name);
      if (ref.isEmpty()) {
        request.put(name, i);
        continue;
      }
      // The sync agent checked the view exists before this version could serve.
      ViewSpec view = ref.get().viewIn(spec.views());
      String key = spec.source(view.source()).orElseThrow().keyField();
      byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(i);
    }
    List<KeyGroup> stored = new ArrayList<>();
    for (Map.Entry<String, List<Integer>> e : byKey.entrySet()) {
      int[] positions = e.getValue().stream().mapToInt(Integer::intValue).toArray();
      List<String> names = new ArrayList<>();
      for (int i : positions) {
        names.add(meta.getSpec().getInputs(i).getName());
      }
      stored.add(new KeyGroup(e.getKey(), positions, store.lookup(names)));
    }
    return new Plan(stored, request);
  }

  private void assembleRequestFeatures(
      Plan plan, ModelVersion meta, Item item, boolean ignoreExtra, String model) {
    PredictRequest request = item.request;
    List<ModelInput> inputs = meta.getSpec().getInputsList();
    item.vector = new float[inputs.size()];
    item.issues = new ArrayList<>();
    item.featureTimes = new HashMap<>();
    Map<String, Value> given = request.getRequestFeaturesMap();
    if (!ignoreExtra) {
      for (String name : given.keySet()) {
        if (!plan.requestInputs().containsKey(name)) {
          throw ScoringException.invalid(
              "request_features['"
                  + name
                  + "'] is not a request-time input of "
                  + model
                  + " (its request-time inputs: "
                  + plan.requestInputs().keySet()
                  + ")");
        }
      }
    }
    for (Map.Entry<String, Integer> e : plan.requestInputs().entrySet()) {
      Value v = given.get(e.getKey());
      ModelInput input = inputs.get(e.getValue());
      if (v == null) {
        if (input.getMissingPolicy() == MissingPolicy.MISSING_POLICY_REJECT) {
          throw ScoringException.invalid(
              "request_features['" + e.getKey() + "'] is required by " + model);
        }
        item.vector[e.getValue()] = (float) input.getDefaultValue();
        item.issues.add(issue(input, "missing"));
      } else {
        String what = "request_features['" + e.getKey() + "']";
        if (v.getKindCase() == Value.KindCase.BOOL_VALUE && !boolFields.contains(e.getKey())) {
          throw ScoringException.invalid(
              what + " is the boolean " + v.getBoolValue() + "; this input takes numbers");
        }
        item.vector[e.getValue()] = number(v, what);
      }
    }
  }

  /** Reads one key's stored inputs for every item still standing, in one store read. */
  private void assembleStored(
      KeyGroup group, ModelVersion meta, List<Item> items, long asOfMs, String model) {
    String key = group.key();
    List<Item> reading = new ArrayList<>(items.size());
    List<String> entities = new ArrayList<>(items.size());
    for (Item item : items) {
      if (item.failure != null) {
        continue;
      }
      String entity = item.request.getEntityIdsMap().get(key);
      if (entity == null || entity.isEmpty()) {
        item.failure =
            ScoringException.invalid(
                "entity_ids['"
                    + key
                    + "'] is required: "
                    + model
                    + " reads features keyed by "
                    + key
                    + " (given: "
                    + item.request.getEntityIdsMap().keySet()
                    + ")");
        continue;
      }
      reading.add(item);
      entities.add(entity);
    }
    if (reading.isEmpty()) {
      return;
    }
    List<EntityFeatures> read = group.lookup().vectors(entities, asOfMs);
    for (int r = 0; r < reading.size(); r++) {
      try {
        fill(group, meta, reading.get(r), entities.get(r), read.get(r), model);
      } catch (ScoringException e) {
        reading.get(r).failure = e;
      }
    }
  }

  private static void fill(
      KeyGroup group,
      ModelVersion meta,
      Item item,
      String entity,
      EntityFeatures features,
      String model) {
    for (int j = 0; j < group.positions().length; j++) {
      int i = group.positions()[j];
      ModelInput input = meta.getSpec().getInputs(i);
      FeatureValue fv = features.getValues(j);
      if (fv.getStatus() == FeatureStatus.FEATURE_STATUS_OK) {
        item.vector[i] = number(fv.getValue(), "feature '" + input.getName() + "'");
        item.featureTimes.put(input.getName(), fv.getEventTimeMs());
        if (fv.getEventTimeMs() > 0) {
          item.oldestFeatureTimeMs = Math.min(item.oldestFeatureTimeMs, fv.getEventTimeMs());
        }
        continue;
      }
      String status =
          fv.getStatus() == FeatureStatus.FEATURE_STATUS_EXPIRED ? "expired" : "missing";
      if (input.getMissingPolicy() == MissingPolicy.MISSING_POLICY_REJECT) {
        throw new ScoringException(
            Status.Code.FAILED_PRECONDITION,
            "feature '"
                + input.getName()
                + "' is "
                + status
                + " for "
                + group.key()
                + " '"
                + entity
                + "' and "
                + model
                + " refuses defaults for it");
      }
      item.vector[i] = (float) input.getDefaultValue();
      item.issues.add(issue(input, status));
    }
  }

  private static FeatureIssue issue(ModelInput input, String status) {
    return FeatureIssue.newBuilder()
        .setFeature(input.getName())
        .setStatus(status)
        .setDefaultValue(input.getDefaultValue())
        .build();
  }

  private static float number(Value v, String what) {
    return switch (v.getKindCase()) {
      case DOUBLE_VALUE -> {
        double d = v.getDoubleValue();
        if (!Double.isFinite(d)) {
          throw ScoringException.invalid(what + " must be finite, got " + d);
        }
        if (Math.abs(d) > Float.MAX_VALUE) {
          // The model's inputs are 32-bit floats: this would reach it as infinity.
          throw ScoringException.invalid(
              what + " is " + d + ", beyond the model's 32-bit float input (±3.4028235E38)");
        }
        yield (float) d;
      }
      case LONG_VALUE -> v.getLongValue();
      case BOOL_VALUE -> v.getBoolValue() ? 1f : 0f;
      case TIMESTAMP_MS -> v.getTimestampMs();
      case STRING_VALUE ->
          throw ScoringException.invalid(
              what + " is the string '" + v.getStringValue() + "'; models take numbers");
      case KIND_NOT_SET -> throw ScoringException.invalid(what + " has no value");
    };
  }

  /** The entity ids in key order: a key keeps its version under a fixed canary split. */
  private static String routingKey(PredictRequest request) {
    if (request.getEntityIdsCount() == 0) {
      return request.getRequestId();
    }
    if (request.getEntityIdsCount() == 1) {
      return request.getEntityIdsMap().values().iterator().next();
    }
    return String.join("|", new TreeMap<>(request.getEntityIdsMap()).values());
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
