package dev.streamscore.scoring;

import dev.streamscore.etl.FeatureRef;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.FieldSpec;
import dev.streamscore.etl.FieldType;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.featurestore.FeatureStore;
import dev.streamscore.featurestore.Ownership;
import dev.streamscore.proto.v1.EntityFeatures;
import dev.streamscore.proto.v1.FeatureIssue;
import dev.streamscore.proto.v1.FeatureStatus;
import dev.streamscore.proto.v1.FeatureValue;
import dev.streamscore.proto.v1.MissingPolicy;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * Builds the input vectors of a group of requests for one model version, in the model's declared
 * order: request-time inputs from each request's features, stored inputs ({@code view:feature})
 * read at {@code asOfMs} for the entity that keys their view, one store read per key for the whole
 * group. A MISSING or EXPIRED value follows the input's policy: its default, reported as a {@link
 * FeatureIssue}, or FEATURE_UNAVAILABLE naming the feature. Each request's failure is its own.
 * Thread-safe.
 */
final class InputAssembler {
  private final FeatureStore store;
  private final FeatureSpec spec;

  /** Per model version: its inputs grouped for lookup. Versions never change once registered. */
  private final Map<String, Plan> plans = new ConcurrentHashMap<>();

  private volatile Plan last;

  // Request features that a source declares bool may be given as booleans (0 or 1); others not.
  private final Set<String> boolFields;

  InputAssembler(FeatureStore store, FeatureSpec spec) {
    this.store = store;
    this.spec = spec;
    this.boolFields =
        spec.sources().values().stream()
            .flatMap(source -> source.fields().values().stream())
            .filter(f -> f.type() == FieldType.BOOL)
            .map(FieldSpec::name)
            .collect(Collectors.toUnmodifiableSet());
  }

  /**
   * Sets the vector, issues and feature times of every request of {@code group} (all for {@code
   * meta}), or its failure.
   */
  void assemble(List<Pending> group, ModelVersion meta, long asOfMs) {
    Plan plan = plan(meta);
    for (Pending item : group) {
      try {
        assembleRequestFeatures(plan, meta, item);
      } catch (ScoringException e) {
        item.failure = e;
      }
    }
    for (KeyGroup key : plan.stored()) {
      assembleStored(key, meta, group, asOfMs);
    }
  }

  /**
   * The version's prepared plan. A node serves the same version's metadata object to every request
   * until a swap, so the last plan is found by identity without building a key.
   */
  private Plan plan(ModelVersion meta) {
    Plan last = this.last;
    if (last != null && last.meta() == meta) {
      return last;
    }
    Plan plan = plans.computeIfAbsent(meta.getName() + "@" + meta.getVersion(), k -> prepare(meta));
    this.last = plan;
    return plan;
  }

  /** How a version is named in errors: built only for them. */
  private static String label(ModelVersion meta) {
    return meta.getName() + " v" + meta.getVersion();
  }

  /**
   * A version's inputs: stored ones grouped by the entity key of their view (each group read
   * through one prepared lookup), request-time ones by name.
   */
  private record Plan(
      ModelVersion meta, List<KeyGroup> stored, Map<String, Integer> requestInputs) {}

  /**
   * Stored inputs read for one entity key: their positions in the vector, their lookup, and the
   * same inputs by view (feature names, and their indexes in {@code positions}) for requests that
   * bring their own {@link FeatureSource}.
   */
  private record KeyGroup(
      String key,
      int[] positions,
      FeatureStore.Lookup lookup,
      Map<String, ByView> views,
      List<String> sourceTopics) {}

  /** One view's inputs of a key group. */
  private record ByView(List<String> features, List<Integer> indexes) {}

  private Plan prepare(ModelVersion meta) {
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
      Map<String, ByView> views = new LinkedHashMap<>();
      for (int j = 0; j < positions.length; j++) {
        String name = meta.getSpec().getInputs(positions[j]).getName();
        names.add(name);
        FeatureRef ref = FeatureRef.of(name).orElseThrow();
        ByView v =
            views.computeIfAbsent(
                ref.view(), k -> new ByView(new ArrayList<>(), new ArrayList<>()));
        v.features().add(ref.feature());
        v.indexes().add(j);
      }
      List<String> topics =
          views.keySet().stream()
              .map(v -> TopicNames.events(spec.views().get(v).source()))
              .distinct()
              .toList();
      stored.add(new KeyGroup(e.getKey(), positions, store.lookup(names), views, topics));
    }
    return new Plan(meta, stored, request);
  }

  private void assembleRequestFeatures(Plan plan, ModelVersion meta, Pending item) {
    ScoreRequest request = item.request;
    List<ModelInput> inputs = meta.getSpec().getInputsList();
    item.vector = new float[inputs.size()];
    item.issues = new ArrayList<>();
    item.featureTimeMs = new long[inputs.size()];
    Arrays.fill(item.featureTimeMs, Pending.NO_TIME);
    item.positions.clear();
    item.storeReads.clear();
    Map<String, Value> given = request.features();
    if (request.extraFeatures() == ScoreRequest.ExtraFeatures.REFUSE) {
      for (String name : given.keySet()) {
        if (!plan.requestInputs().containsKey(name)) {
          throw ScoringException.invalid(
              "request_features['"
                  + name
                  + "'] is not a request-time input of "
                  + label(meta)
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
              "request_features['" + e.getKey() + "'] is required by " + label(meta));
        }
        item.vector[e.getValue()] = (float) input.getDefaultValue();
        item.issues.add(issue(input, "missing"));
      } else {
        float plain = plainNumber(v);
        if (plain == plain) {
          item.vector[e.getValue()] = plain;
          continue;
        }
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
  private void assembleStored(KeyGroup group, ModelVersion meta, List<Pending> items, long asOfMs) {
    String key = group.key();
    List<Pending> reading = new ArrayList<>(items.size());
    List<String> entities = new ArrayList<>(items.size());
    Ownership owned = store.ownership();
    for (Pending item : items) {
      if (item.failure != null) {
        continue;
      }
      String entity = item.request.entityIds().get(key);
      if (entity == null || entity.isEmpty()) {
        item.failure =
            ScoringException.invalid(
                "entity_ids['"
                    + key
                    + "'] is required: "
                    + label(meta)
                    + " reads features keyed by "
                    + key
                    + " (given: "
                    + item.request.entityIds().keySet()
                    + ")");
        continue;
      }
      if (item.request.storedFeatures() != FeatureSource.STORE) {
        EntityFeatures given = given(group, item.request.storedFeatures());
        if (given != null) {
          try {
            fill(group, meta, item, entity, given);
          } catch (ScoringException e) {
            item.failure = e;
          }
          continue;
        }
      }
      String refusal = owned.refusal(entity);
      if (refusal != null) {
        item.failure =
            new ScoringException(
                ScoringException.Reason.NOT_HELD, "entity_ids['" + key + "'] = " + refusal);
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
      Pending item = reading.get(r);
      item.positions.addAll(read.get(r).getPositionsList());
      for (String topic : group.sourceTopics()) {
        item.storeReads.put(topic, entities.get(r));
      }
      try {
        fill(group, meta, item, entities.get(r), read.get(r));
      } catch (ScoringException e) {
        reading.get(r).failure = e;
      }
    }
  }

  /** The group's values from the request's own source, or null when it lacks one of the views. */
  private static EntityFeatures given(KeyGroup group, FeatureSource source) {
    FeatureValue[] values = new FeatureValue[group.positions().length];
    for (Map.Entry<String, ByView> view : group.views().entrySet()) {
      List<FeatureValue> v = source.values(view.getKey(), view.getValue().features());
      if (v == null) {
        return null;
      }
      for (int k = 0; k < v.size(); k++) {
        values[view.getValue().indexes().get(k)] = v.get(k);
      }
    }
    return EntityFeatures.newBuilder().addAllValues(java.util.Arrays.asList(values)).build();
  }

  private static void fill(
      KeyGroup group, ModelVersion meta, Pending item, String entity, EntityFeatures features) {
    for (int j = 0; j < group.positions().length; j++) {
      int i = group.positions()[j];
      ModelInput input = meta.getSpec().getInputs(i);
      FeatureValue fv = features.getValues(j);
      if (fv.getStatus() == FeatureStatus.FEATURE_STATUS_OK) {
        float plain = plainNumber(fv.getValue());
        item.vector[i] =
            plain == plain ? plain : number(fv.getValue(), "feature '" + input.getName() + "'");
        item.featureTimeMs[i] = fv.getEventTimeMs();
        if (fv.getEventTimeMs() > 0) {
          item.oldestFeatureTimeMs = Math.min(item.oldestFeatureTimeMs, fv.getEventTimeMs());
        }
        continue;
      }
      String status =
          fv.getStatus() == FeatureStatus.FEATURE_STATUS_EXPIRED ? "expired" : "missing";
      if (input.getMissingPolicy() == MissingPolicy.MISSING_POLICY_REJECT) {
        throw new ScoringException(
            ScoringException.Reason.FEATURE_UNAVAILABLE,
            "feature '"
                + input.getName()
                + "' is "
                + status
                + " for "
                + group.key()
                + " '"
                + entity
                + "' and "
                + label(meta)
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

  /**
   * A double that fits a float, or a long, as the model's float; NaN for anything else, which
   * {@link #number} then takes with its reason. Builds no message for the common case.
   */
  private static float plainNumber(Value v) {
    switch (v.getKindCase()) {
      case DOUBLE_VALUE -> {
        double d = v.getDoubleValue();
        return Double.isFinite(d) && Math.abs(d) <= Float.MAX_VALUE ? (float) d : Float.NaN;
      }
      case LONG_VALUE -> {
        return v.getLongValue();
      }
      default -> {
        return Float.NaN;
      }
    }
  }

  static float number(Value v, String what) {
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
}
