package dev.streamscore.scoring;

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

  public Scorer(FeatureStore store, FeatureSpec spec, SyncAgent agent, String nodeId) {
    this.store = store;
    this.spec = spec;
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
    long began = System.nanoTime();
    ModelRef ref = request.getModel();
    if (ref.getName().isEmpty()) {
      throw ScoringException.invalid("model.name is empty");
    }
    String alias = "";
    Lease lease;
    try {
      if (ref.getSelectorCase() == ModelRef.SelectorCase.VERSION) {
        if (ref.getVersion() < 1) {
          throw ScoringException.invalid("model.version must be >= 1, got " + ref.getVersion());
        }
        lease = agent.acquirePinned(ref.getName(), ref.getVersion());
      } else {
        alias = ref.getSelectorCase() == ModelRef.SelectorCase.ALIAS ? ref.getAlias() : "prod";
        lease = agent.acquire(ref.getName(), alias, routingKey(request));
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
    Scored scored;
    try (lease) {
      scored = run(lease, request, asOfMs, alias, false, ignoreExtraFeatures, began);
    }
    if (!alias.isEmpty() && agent.shadowVersion(ref.getName(), alias) != 0) {
      shadow.accept(new ShadowTask(request, asOfMs, alias));
    }
    return scored;
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
    try (Lease l = lease.get()) {
      return Optional.of(
          run(l, task.request(), task.asOfMs(), task.alias(), true, false, began).prediction());
    }
  }

  private Scored run(
      Lease lease,
      PredictRequest request,
      long asOfMs,
      String alias,
      boolean shadow,
      boolean ignoreExtraFeatures,
      long began) {
    ModelVersion meta = lease.metadata();
    Plan plan = plans.computeIfAbsent(meta.getName() + "@" + meta.getVersion(), k -> plan(meta));
    Assembled in = assemble(plan, meta, request, asOfMs, ignoreExtraFeatures);
    float[] out;
    try {
      out = lease.predict(in.vector());
    } catch (PredictionException e) {
      throw new ScoringException(
          Status.Code.INTERNAL,
          meta.getName() + " v" + meta.getVersion() + " failed: " + e.getMessage());
    }
    if (out.length != meta.getSpec().getOutputsCount()) {
      throw new ScoringException(
          Status.Code.INTERNAL,
          meta.getName()
              + " v"
              + meta.getVersion()
              + " returned "
              + out.length
              + " values for "
              + meta.getSpec().getOutputsCount()
              + " outputs");
    }
    long latencyUs = (System.nanoTime() - began) / 1_000;
    PredictResponse.Builder response =
        PredictResponse.newBuilder()
            .setRequestId(request.getRequestId())
            .setModelName(meta.getName())
            .setModelVersion(meta.getVersion())
            .setOldestFeatureTimeMs(in.oldestFeatureTimeMs())
            .addAllFeatureIssues(in.issues())
            .setServerLatencyUs(latencyUs);
    Prediction.Builder prediction =
        Prediction.newBuilder()
            .setRequestId(request.getRequestId())
            .putAllEntityIds(request.getEntityIdsMap())
            .setModelName(meta.getName())
            .setModelVersion(meta.getVersion())
            .setAlias(alias)
            .setShadow(shadow)
            .setPredictedAtMs(asOfMs)
            .setLatencyUs(latencyUs)
            .setFeatureHash(hash(in.vector()))
            .putAllFeatureTimeMs(in.featureTimes())
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
      for (float f : in.vector()) {
        response.addFeatures(f);
      }
    }
    return new Scored(response.build(), prediction.build());
  }

  /** A version's stored inputs grouped by the entity key of their view. */
  private record Plan(Map<String, List<Integer>> storedByKey, Map<String, Integer> requestInputs) {}

  private Plan plan(ModelVersion meta) {
    Map<String, List<Integer>> byKey = new TreeMap<>();
    Map<String, Integer> request = new LinkedHashMap<>();
    for (int i = 0; i < meta.getSpec().getInputsCount(); i++) {
      String name = meta.getSpec().getInputs(i).getName();
      int colon = name.indexOf(':');
      if (colon < 0) {
        request.put(name, i);
        continue;
      }
      // The sync agent checked the view exists before this version could serve.
      ViewSpec view = spec.views().get(name.substring(0, colon));
      String key = spec.source(view.source()).orElseThrow().keyField();
      byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(i);
    }
    return new Plan(byKey, request);
  }

  private record Assembled(
      float[] vector,
      List<FeatureIssue> issues,
      long oldestFeatureTimeMs,
      Map<String, Long> featureTimes) {}

  private Assembled assemble(
      Plan plan, ModelVersion meta, PredictRequest request, long asOfMs, boolean ignoreExtra) {
    List<ModelInput> inputs = meta.getSpec().getInputsList();
    float[] vector = new float[inputs.size()];
    List<FeatureIssue> issues = new ArrayList<>();
    Map<String, Long> times = new HashMap<>();
    long oldest = Long.MAX_VALUE;
    String model = meta.getName() + " v" + meta.getVersion();

    for (String name : request.getRequestFeaturesMap().keySet()) {
      if (!ignoreExtra && !plan.requestInputs().containsKey(name)) {
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
    for (Map.Entry<String, Integer> e : plan.requestInputs().entrySet()) {
      Value v = request.getRequestFeaturesMap().get(e.getKey());
      ModelInput input = inputs.get(e.getValue());
      if (v == null) {
        if (input.getMissingPolicy() == MissingPolicy.MISSING_POLICY_REJECT) {
          throw ScoringException.invalid(
              "request_features['" + e.getKey() + "'] is required by " + model);
        }
        vector[e.getValue()] = (float) input.getDefaultValue();
        issues.add(issue(input, "missing"));
      } else {
        vector[e.getValue()] = number(v, "request_features['" + e.getKey() + "']");
      }
    }

    for (Map.Entry<String, List<Integer>> group : plan.storedByKey().entrySet()) {
      String key = group.getKey();
      String entity = request.getEntityIdsMap().get(key);
      if (entity == null || entity.isEmpty()) {
        throw ScoringException.invalid(
            "entity_ids['"
                + key
                + "'] is required: "
                + model
                + " reads features keyed by "
                + key
                + " (given: "
                + request.getEntityIdsMap().keySet()
                + ")");
      }
      List<String> names = new ArrayList<>(group.getValue().size());
      for (int i : group.getValue()) {
        names.add(inputs.get(i).getName());
      }
      EntityFeatures features = store.vector(entity, names, asOfMs);
      for (int j = 0; j < names.size(); j++) {
        int i = group.getValue().get(j);
        ModelInput input = inputs.get(i);
        FeatureValue fv = features.getValues(j);
        if (fv.getStatus() == FeatureStatus.FEATURE_STATUS_OK) {
          vector[i] = number(fv.getValue(), "feature '" + input.getName() + "'");
          times.put(input.getName(), fv.getEventTimeMs());
          if (fv.getEventTimeMs() > 0) {
            oldest = Math.min(oldest, fv.getEventTimeMs());
          }
        } else {
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
                    + key
                    + " '"
                    + entity
                    + "' and "
                    + model
                    + " refuses defaults for it");
          }
          vector[i] = (float) input.getDefaultValue();
          issues.add(issue(input, status));
        }
      }
    }
    return new Assembled(vector, issues, oldest == Long.MAX_VALUE ? 0 : oldest, times);
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
        if (!Double.isFinite(v.getDoubleValue())) {
          throw ScoringException.invalid(what + " must be finite, got " + v.getDoubleValue());
        }
        yield (float) v.getDoubleValue();
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
