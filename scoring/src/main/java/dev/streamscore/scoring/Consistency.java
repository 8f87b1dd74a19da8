package dev.streamscore.scoring;

import dev.streamscore.etl.Aggregation;
import dev.streamscore.etl.FeatureRef;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.InMemoryTimeline;
import dev.streamscore.etl.LogOrderFeatures;
import dev.streamscore.etl.PointInTimeRule;
import dev.streamscore.etl.RecordOrigin;
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
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Online/offline consistency of stream predictions: for each prediction that logged its input
 * vector, the training row of the same event is rebuilt from the events log as training data is
 * built, and the two vectors are compared bit for bit. The training row follows a {@link
 * PointInTimeRule}: by default the log-order rule stream scoring serves (the events before it in
 * its entity's log), or the event-time rule (every event of the whole log with an earlier time). A
 * missing or expired value and an absent request field take the input's default. Each differing
 * value is given a {@link Cause}.
 *
 * <p>Predictions are joined with their event by record: a stream prediction's request id is its
 * event's {@code topic-partition-offset}. Not thread-safe; one check at a time.
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

  /** Why a served value differed from its training value, as far as the log can tell. */
  public enum Cause {
    SCORED_EVENT("the scored event itself was counted"),
    LATER_EVENTS("events after it in the log were counted (later events of its tile)"),
    STORE_LAG("events before it were missing (the store behind the log)"),
    LATE_ARRIVALS("training counted events logged after it with an earlier time"),
    TTL("expired (TTL) on one side only"),
    DEFAULT("the input's default on one side only (value missing)"),
    TILES_APART(
        "online: some of the entity's tiles or views stood at an earlier log position than the"
            + " newest one read"),
    OTHER("none of the above");

    private final String description;

    Cause(String description) {
      this.description = description;
    }

    public String description() {
      return description;
    }
  }

  /**
   * The outcome of a check.
   *
   * @param rule the rule training rows were built with
   * @param predictions predictions read
   * @param compared predictions compared with their event's training row
   * @param identical of those, the ones whose vector is bit-identical
   * @param withoutInputs predictions that did not log their input vector (not comparable)
   * @param withoutEvent predictions whose event or version is not in what was read
   * @param inputs per input of the model, in its declared order
   * @param causes differing values by cause (a prediction may count once per input)
   * @param scoresCompared predictions whose scores were recomputed from their training row (those
   *     with an identical vector, when a {@link Model} was given)
   * @param scoresIdentical of those, the ones whose every score is bit-identical
   */
  public record Report(
      PointInTimeRule rule,
      long predictions,
      long compared,
      long identical,
      long withoutInputs,
      long withoutEvent,
      List<InputSkew> inputs,
      Map<Cause, Long> causes,
      long scoresCompared,
      long scoresIdentical) {
    public Report {
      inputs = List.copyOf(inputs);
      causes = Map.copyOf(causes);
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

    /** {@code scores: 19,830 of 19,830 recomputed from the training rows bit-identical}. */
    public String scoresSummary() {
      return String.format(
          Locale.ROOT,
          "scores: %,d of %,d recomputed from the training rows bit-identical",
          scoresIdentical,
          scoresCompared);
    }
  }

  /**
   * Runs a version of the model on one input row as the node runs it (ONNX Runtime, a batch of
   * one), for the score check.
   */
  @FunctionalInterface
  public interface Model {
    float[] score(long version, float[] row);
  }

  /**
   * A record of the events log.
   *
   * @param origin where it was read: a stream prediction's request id names it
   */
  public record Logged(RecordOrigin origin, Event event) {
    public Logged {
      Objects.requireNonNull(origin, "origin");
      Objects.requireNonNull(event, "event");
    }
  }

  private final FeatureSpec spec;
  private final String source;
  private final PointInTimeRule rule;

  /**
   * @param source the source whose events the predictions scored
   */
  public Consistency(FeatureSpec spec, String source, PointInTimeRule rule) {
    this.spec = Objects.requireNonNull(spec, "spec");
    this.source = Objects.requireNonNull(source, "source");
    this.rule = Objects.requireNonNull(rule, "rule");
    if (spec.source(source).isEmpty()) {
      throw new IllegalArgumentException("the spec declares no source '" + source + "'");
    }
  }

  /** One input's value as training data has it. */
  record Trained(float value, FeatureStatus status) {}

  /** Per input, counts and differences as the check goes. */
  static final class Tally {
    long compared;
    long identical;
    final Map<String, List<Double>> differences = new LinkedHashMap<>();
    final Map<Cause, Long> causes = new EnumMap<>(Cause.class);
    long scoresCompared;
    long scoresIdentical;
    List<String> names = List.of();
  }

  /**
   * Compares {@code predictions} with the training rows of their events.
   *
   * @param log the source's events, in log order (each entity's events in its partition's order)
   * @param versions the model's version descriptions by version number
   */
  public Report check(
      Iterable<Logged> log,
      Map<Long, ModelVersionSpec> versions,
      Iterable<Prediction> predictions) {
    return check(log, versions, predictions, null);
  }

  /**
   * {@link #check(Iterable, Map, Iterable)}, and each prediction whose vector is identical has its
   * scores recomputed by {@code model} from the training row and compared bit for bit.
   */
  public Report check(
      Iterable<Logged> log,
      Map<Long, ModelVersionSpec> versions,
      Iterable<Prediction> predictions,
      Model model) {
    Map<String, List<Prediction>> byOrigin = new HashMap<>();
    long read = 0;
    long withoutInputs = 0;
    for (Prediction p : predictions) {
      read++;
      if (p.getFeaturesCount() == 0) {
        withoutInputs++;
        continue;
      }
      byOrigin.computeIfAbsent(p.getRequestId(), k -> new ArrayList<>(1)).add(p);
    }
    Replay replay = null;
    if (rule == PointInTimeRule.EVENT_TIME) {
      replay = new Replay(spec, source);
      for (Logged l : log) {
        replay.accept(l.event());
      }
    }
    LogOrderFeatures features = LogOrderFeatures.of(spec, source);
    Map<String, InMemoryTimeline> timelines = new HashMap<>();
    Tally tally = new Tally();
    long matched = 0;
    for (Logged l : log) {
      Event event = l.event();
      InMemoryTimeline timeline =
          timelines.computeIfAbsent(event.getEntityId(), e -> new InMemoryTimeline());
      List<Prediction> ps = byOrigin.remove(l.origin().asEventId());
      List<Mismatch> mismatches = new ArrayList<>();
      if (ps != null) {
        for (Prediction p : ps) {
          ModelVersionSpec version = versions.get(p.getModelVersion());
          if (version == null) {
            byOrigin.computeIfAbsent(p.getRequestId(), k -> new ArrayList<>()).add(p);
            continue;
          }
          matched++;
          Replay r = replay;
          Trained[] training =
              row(
                  version,
                  event,
                  (view, names) ->
                      r != null
                          ? r.valuesAt(view, names, event.getEntityId(), event.getEventTimeMs())
                          : features.valuesAt(timeline, view, names, event.getEventTimeMs()));
          Trained[] logOrder =
              replay == null
                  ? training
                  : row(
                      version,
                      event,
                      (view, names) ->
                          features.valuesAt(timeline, view, names, event.getEventTimeMs()));
          Mismatch m = compare(tally, p, version, training, logOrder);
          if (m != null) {
            mismatches.add(m);
          } else if (model != null) {
            tally.scoresCompared++;
            if (sameScores(p, model.score(p.getModelVersion(), values(training)))) {
              tally.scoresIdentical++;
            }
          }
        }
      }
      features.append(timeline, event);
      for (Mismatch m : mismatches) {
        // The same event's features with itself counted (a millisecond later, so that its own
        // time is inside the window): did the served vector include it?
        Trained[] withEvent =
            row(
                m.version(),
                event,
                (view, names) ->
                    features.valuesAt(timeline, view, names, event.getEventTimeMs() + 1));
        classify(tally, m, withEvent);
      }
    }
    long withoutEvent = read - withoutInputs - matched;
    List<InputSkew> skews = new ArrayList<>();
    for (String name : tally.names) {
      skews.add(skew(name, tally.differences.getOrDefault(name, List.of())));
    }
    return new Report(
        rule,
        read,
        tally.compared,
        tally.identical,
        withoutInputs,
        withoutEvent,
        skews,
        tally.causes,
        tally.scoresCompared,
        tally.scoresIdentical);
  }

  private static float[] values(Trained[] row) {
    float[] v = new float[row.length];
    for (int i = 0; i < v.length; i++) {
      v[i] = row[i].value();
    }
    return v;
  }

  /** The node logs each output's float as a double: the same float, or not. */
  private static boolean sameScores(Prediction p, float[] scores) {
    if (scores.length != p.getScoresCount()) {
      return false;
    }
    for (int i = 0; i < scores.length; i++) {
      if (!same((float) p.getScores(i).getValue(), scores[i])) {
        return false;
      }
    }
    return true;
  }

  /** A prediction that differed, and at which inputs. */
  private record Mismatch(
      Prediction prediction,
      ModelVersionSpec version,
      Trained[] training,
      Trained[] logOrder,
      List<Integer> inputs) {}

  private Mismatch compare(
      Tally tally, Prediction p, ModelVersionSpec version, Trained[] training, Trained[] logOrder) {
    tally.names = version.getInputsList().stream().map(ModelInput::getName).toList();
    tally.compared++;
    boolean same = p.getFeaturesCount() == training.length;
    List<Integer> differing = new ArrayList<>();
    for (int i = 0; i < training.length; i++) {
      float served = served(p, i);
      if (Float.floatToIntBits(served) != Float.floatToIntBits(training[i].value())) {
        same = false;
        differing.add(i);
        tally
            .differences
            .computeIfAbsent(tally.names.get(i), k -> new ArrayList<>())
            .add((double) served - training[i].value());
      }
    }
    if (same) {
      tally.identical++;
      return null;
    }
    return new Mismatch(p, version, training, logOrder, differing);
  }

  static float served(Prediction p, int i) {
    return i < p.getFeaturesCount() ? (float) p.getFeatures(i) : Float.NaN;
  }

  private void classify(Tally tally, Mismatch m, Trained[] withEvent) {
    for (int i : m.inputs()) {
      tally.causes.merge(cause(m, i, withEvent[i]), 1L, Long::sum);
    }
  }

  private Cause cause(Mismatch m, int i, Trained withEvent) {
    ModelInput input = m.version().getInputs(i);
    var ref = FeatureRef.of(input.getName());
    if (ref.isEmpty()) {
      return Cause.OTHER;
    }
    float served = served(m.prediction(), i);
    Trained training = m.training()[i];
    Trained logOrder = m.logOrder()[i];
    if (rule == PointInTimeRule.EVENT_TIME && same(served, logOrder.value())) {
      return Cause.LATE_ARRIVALS;
    }
    if (training.status() == FeatureStatus.FEATURE_STATUS_EXPIRED
        || withEvent.status() == FeatureStatus.FEATURE_STATUS_EXPIRED
            && same(served, (float) input.getDefaultValue())) {
      return Cause.TTL;
    }
    if (training.status() == FeatureStatus.FEATURE_STATUS_MISSING
        || same(served, (float) input.getDefaultValue())) {
      return Cause.DEFAULT;
    }
    if (same(served, withEvent.value())) {
      return Cause.SCORED_EVENT;
    }
    Aggregation agg =
        spec.views().get(ref.get().view()).features().get(ref.get().feature()).aggregation();
    if (agg == Aggregation.COUNT || agg == Aggregation.SUM || agg == Aggregation.APPROX_DISTINCT) {
      // These only grow with events: more than the log before it had means later events counted.
      return served > logOrder.value() ? Cause.LATER_EVENTS : Cause.STORE_LAG;
    }
    return Cause.OTHER;
  }

  static boolean same(float a, float b) {
    return Float.floatToIntBits(a) == Float.floatToIntBits(b);
  }

  /** Stored values of a view's features for the event, by the rule in force. */
  @FunctionalInterface
  interface Values {
    List<FeatureValue> of(String view, List<String> features);
  }

  /** The event's training row, in the version's input order. */
  static Trained[] row(ModelVersionSpec version, Event event, Values stored) {
    Trained[] row = new Trained[version.getInputsCount()];
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
          v == null
              ? new Trained((float) input.getDefaultValue(), FeatureStatus.FEATURE_STATUS_MISSING)
              : new Trained(
                  InputAssembler.number(v, input.getName()), FeatureStatus.FEATURE_STATUS_OK);
    }
    for (Map.Entry<String, List<Integer>> view : byView.entrySet()) {
      List<FeatureValue> values = stored.of(view.getKey(), featuresByView.get(view.getKey()));
      for (int j = 0; j < view.getValue().size(); j++) {
        int i = view.getValue().get(j);
        FeatureValue fv = values.get(j);
        row[i] =
            fv.getStatus() == FeatureStatus.FEATURE_STATUS_OK
                ? new Trained(
                    InputAssembler.number(fv.getValue(), version.getInputs(i).getName()),
                    fv.getStatus())
                : new Trained((float) version.getInputs(i).getDefaultValue(), fv.getStatus());
      }
    }
    return row;
  }

  static InputSkew skew(String name, List<Double> differences) {
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
