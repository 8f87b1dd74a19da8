package dev.streamscore.scoring;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.InMemoryTimeline;
import dev.streamscore.etl.LogOrderFeatures;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureValue;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.Prediction;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * The live counterpart of {@link Consistency}: follows the events log and the stream predictions,
 * for one entity in N (by a hash of its id, so every event of a sampled entity is seen), and
 * compares each sampled prediction with its event's training row under the log-order rule, as it
 * happens. Exported as {@code streamscore_consistency_sampled_total}, {@code _identical_total} and
 * {@code _differing_inputs_total{input}}, per model. Events are expected in log order; a prediction
 * may come before or after its event. Not thread-safe: one follower.
 */
final class ConsistencySampler {
  /** Unmatched events and predictions kept at most (each side); the oldest are dropped first. */
  static final int MAX_PENDING = 100_000;

  private final FeatureSpec spec;
  private final String model;
  private final int oneIn;
  private final LogOrderFeatures features;
  private final Map<String, InMemoryTimeline> timelines = new HashMap<>();
  private final Map<String, Expected> expected = bounded();
  private final Map<String, Prediction> waiting = bounded();
  private final Counter sampled;
  private final Counter identical;
  private final Counter differing;
  private long sampledCount;
  private long identicalCount;

  /** An event's training-row ingredients: the event and its views' values before it. */
  private record Expected(Event event, Map<String, Map<String, FeatureValue>> values) {}

  ConsistencySampler(
      FeatureSpec spec, String source, String model, int oneIn, PrometheusRegistry registry) {
    if (oneIn < 1) {
      throw new IllegalArgumentException("oneIn must be >= 1, got " + oneIn);
    }
    this.spec = spec;
    this.model = model;
    this.oneIn = oneIn;
    this.features = LogOrderFeatures.of(spec, source);
    this.sampled =
        Counter.builder()
            .name("streamscore_consistency_sampled_total")
            .help("Sampled stream predictions compared with their event's training row")
            .labelNames("model")
            .register(registry);
    this.identical =
        Counter.builder()
            .name("streamscore_consistency_identical_total")
            .help("Sampled stream predictions whose input vector was bit-identical to it")
            .labelNames("model")
            .register(registry);
    this.differing =
        Counter.builder()
            .name("streamscore_consistency_differing_inputs_total")
            .help("Inputs of sampled stream predictions that differed from the training row")
            .labelNames("model", "input")
            .register(registry);
  }

  private static <V> Map<String, V> bounded() {
    return new LinkedHashMap<>() {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
        return size() > MAX_PENDING;
      }
    };
  }

  boolean sampled(String entityId) {
    return Math.floorMod(entityId.hashCode() * 0x9E3779B9, oneIn) == 0;
  }

  /** The next event of the log. */
  void onEvent(RecordOrigin origin, Event event, LongFunction<ModelVersionSpec> versions) {
    if (!sampled(event.getEntityId())) {
      return;
    }
    InMemoryTimeline timeline =
        timelines.computeIfAbsent(event.getEntityId(), k -> new InMemoryTimeline());
    Map<String, Map<String, FeatureValue>> values = new HashMap<>();
    for (ViewSpec view : spec.views().values()) {
      if (!features.hasView(view.name())) {
        continue;
      }
      List<String> names = new ArrayList<>(view.features().keySet());
      List<FeatureValue> v =
          features.valuesAt(timeline, view.name(), names, event.getEventTimeMs());
      Map<String, FeatureValue> byName = new HashMap<>();
      for (int i = 0; i < names.size(); i++) {
        byName.put(names.get(i), v.get(i));
      }
      values.put(view.name(), byName);
    }
    features.append(timeline, event);
    Expected e = new Expected(event, values);
    Prediction early = waiting.remove(origin.asEventId());
    if (early != null) {
      compare(early, e, versions);
    } else {
      expected.put(origin.asEventId(), e);
    }
  }

  /** A prediction read from {@code predictions.<model>}; only stream predictions count. */
  void onPrediction(Prediction p, LongFunction<ModelVersionSpec> versions) {
    if (!p.getNodeId().equals("stream")
        || p.getShadow()
        || p.getEntityIdsCount() != 1
        || !sampled(p.getEntityIdsMap().values().iterator().next())) {
      return;
    }
    Expected e = expected.remove(p.getRequestId());
    if (e == null) {
      waiting.put(p.getRequestId(), p);
    } else {
      compare(p, e, versions);
    }
  }

  private void compare(Prediction p, Expected e, LongFunction<ModelVersionSpec> versions) {
    ModelVersionSpec version = versions.apply(p.getModelVersion());
    if (version == null || p.getFeaturesCount() == 0) {
      return;
    }
    for (var input : version.getInputsList()) {
      var ref = dev.streamscore.etl.FeatureRef.of(input.getName());
      if (ref.isPresent() && !e.values().containsKey(ref.get().view())) {
        return; // a view over another source: read from the store, not this rule's to check
      }
    }
    Consistency.Trained[] row =
        Consistency.row(
            version,
            e.event(),
            (view, names) -> {
              List<FeatureValue> out = new ArrayList<>(names.size());
              for (String n : names) {
                out.add(e.values().get(view).get(n));
              }
              return out;
            });
    boolean same = p.getFeaturesCount() == row.length;
    for (int i = 0; i < row.length; i++) {
      float served = Consistency.served(p, i);
      if (Float.floatToIntBits(served) != Float.floatToIntBits(row[i].value())) {
        same = false;
        differing.labelValues(model, version.getInputs(i).getName()).inc();
      }
    }
    sampled.labelValues(model).inc();
    sampledCount++;
    if (same) {
      identical.labelValues(model).inc();
      identicalCount++;
    }
  }

  /** Sampled predictions compared so far. */
  long sampledCount() {
    return sampledCount;
  }

  /** Of those, the identical ones. */
  long identicalCount() {
    return identicalCount;
  }
}
