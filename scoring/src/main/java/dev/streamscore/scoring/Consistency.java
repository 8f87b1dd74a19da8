package dev.streamscore.scoring;

import dev.streamscore.etl.FeatureRef;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.Replay;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureStatus;
import dev.streamscore.proto.v1.FeatureValue;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Online/offline consistency of stream predictions: for each prediction that logged its input
 * vector, the training row of the same event is rebuilt from the events log as training data is
 * built (the core's replay of the whole log; each stored input is the view's value at the event's
 * time, from the events strictly before it; a missing or expired value and an absent request field
 * take the input's default), and the two vectors are compared bit for bit.
 *
 * <p>Not thread-safe; one check at a time.
 */
public final class Consistency {
  /**
   * How one input differed, over the predictions compared.
   *
   * @param input the input's name
   * @param mismatches predictions whose value differed from the training row's
   * @param servedHigher of those, how many served a greater value
   * @param medianDifference served minus training, the median over the mismatches (0 when none)
   * @param largestDifference the largest absolute difference
   */
  public record InputSkew(
      String input,
      long mismatches,
      long servedHigher,
      double medianDifference,
      double largestDifference) {}

  /**
   * The outcome of a check.
   *
   * @param predictions predictions read
   * @param compared predictions compared with their event's training row
   * @param identical of those, the ones whose vector is bit-identical
   * @param withoutInputs predictions that did not log their input vector (not comparable)
   * @param withoutEvent predictions whose event or version is not in what was read
   * @param inputs per input of the model, in its declared order
   */
  public record Report(
      long predictions,
      long compared,
      long identical,
      long withoutInputs,
      long withoutEvent,
      List<InputSkew> inputs) {
    public Report {
      inputs = List.copyOf(inputs);
    }

    /** {@code 19,830 of 19,830 stream predictions identical to their training rows (100.0%)}. */
    public String summary() {
      return String.format(
          Locale.ROOT,
          "%,d of %,d stream predictions identical to their training rows (%.1f%%)",
          identical,
          compared,
          compared == 0 ? 100.0 : 100.0 * identical / compared);
    }
  }

  private final FeatureSpec spec;
  private final String source;

  /**
   * @param source the source whose events the predictions scored
   */
  public Consistency(FeatureSpec spec, String source) {
    this.spec = Objects.requireNonNull(spec, "spec");
    this.source = Objects.requireNonNull(source, "source");
    if (spec.source(source).isEmpty()) {
      throw new IllegalArgumentException("the spec declares no source '" + source + "'");
    }
  }

  /**
   * Compares {@code predictions} with the training rows of their events.
   *
   * @param events the source's events, in log order (each entity's events in its partition's order)
   * @param versions the model's version descriptions by version number
   */
  public Report check(
      Iterable<Event> events,
      Map<Long, ModelVersionSpec> versions,
      Iterable<Prediction> predictions) {
    Replay replay = new Replay(spec, source);
    Map<String, Event> byId = new HashMap<>();
    for (Event e : events) {
      replay.accept(e);
      byId.putIfAbsent(e.getEventId(), e);
    }
    long read = 0;
    long compared = 0;
    long identical = 0;
    long withoutInputs = 0;
    long withoutEvent = 0;
    Map<String, List<Double>> differences = new LinkedHashMap<>();
    List<String> names = List.of();
    for (Prediction p : predictions) {
      read++;
      Event event = byId.get(p.getEventId());
      ModelVersionSpec version = versions.get(p.getModelVersion());
      if (event == null || version == null) {
        withoutEvent++;
        continue;
      }
      if (p.getFeaturesCount() == 0) {
        withoutInputs++;
        continue;
      }
      float[] training = trainingRow(replay, version, event);
      names = version.getInputsList().stream().map(ModelInput::getName).toList();
      compared++;
      boolean same = p.getFeaturesCount() == training.length;
      for (int i = 0; i < training.length; i++) {
        float served = i < p.getFeaturesCount() ? (float) p.getFeatures(i) : Float.NaN;
        if (Float.floatToIntBits(served) != Float.floatToIntBits(training[i])) {
          same = false;
          differences
              .computeIfAbsent(names.get(i), k -> new ArrayList<>())
              .add((double) served - training[i]);
        }
      }
      if (same) {
        identical++;
      }
    }
    List<InputSkew> skews = new ArrayList<>();
    for (String name : names) {
      skews.add(skew(name, differences.getOrDefault(name, List.of())));
    }
    return new Report(read, compared, identical, withoutInputs, withoutEvent, skews);
  }

  /** The event's training row, in the version's input order. */
  private float[] trainingRow(Replay replay, ModelVersionSpec version, Event event) {
    float[] row = new float[version.getInputsCount()];
    Map<String, List<Integer>> byView = new LinkedHashMap<>();
    Map<String, List<String>> featuresByView = new LinkedHashMap<>();
    for (int i = 0; i < row.length; i++) {
      ModelInput input = version.getInputs(i);
      var ref = FeatureRef.of(input.getName());
      if (ref.isPresent()) {
        byView.computeIfAbsent(ref.get().view(), v -> new ArrayList<>()).add(i);
        featuresByView
            .computeIfAbsent(ref.get().view(), v -> new ArrayList<>())
            .add(ref.get().feature());
        continue;
      }
      Value v = event.getFieldsMap().get(input.getName());
      row[i] =
          v == null ? (float) input.getDefaultValue() : InputAssembler.number(v, input.getName());
    }
    for (Map.Entry<String, List<Integer>> view : byView.entrySet()) {
      List<FeatureValue> values =
          replay.valuesAt(
              view.getKey(),
              featuresByView.get(view.getKey()),
              event.getEntityId(),
              event.getEventTimeMs());
      for (int j = 0; j < view.getValue().size(); j++) {
        int i = view.getValue().get(j);
        FeatureValue fv = values.get(j);
        row[i] =
            fv.getStatus() == FeatureStatus.FEATURE_STATUS_OK
                ? InputAssembler.number(fv.getValue(), version.getInputs(i).getName())
                : (float) version.getInputs(i).getDefaultValue();
      }
    }
    return row;
  }

  private static InputSkew skew(String name, List<Double> differences) {
    if (differences.isEmpty()) {
      return new InputSkew(name, 0, 0, 0, 0);
    }
    double[] d = differences.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(d);
    long higher = Arrays.stream(d).filter(x -> x > 0).count();
    double largest = Math.max(Math.abs(d[0]), Math.abs(d[d.length - 1]));
    return new InputSkew(name, d.length, higher, d[d.length / 2], largest);
  }
}
