package dev.streamscore.scoring;

import dev.streamscore.etl.FeatureRef;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.Replay;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.etl.Windows;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.FeatureStatus;
import dev.streamscore.proto.v1.FeatureValue;
import dev.streamscore.proto.v1.LogPosition;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.Prediction;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Online (gRPC) predictions against a replay of the events log at the position their stored
 * features stood at ({@code feature_positions}): the entity's accepted events before that offset,
 * folded into tiles by the ETL's rules and read at the prediction's time as the store reads them.
 * The stream predictions' check is {@link Consistency}. Not thread-safe; one check at a time.
 */
public final class OnlineConsistency {
  private final FeatureSpec spec;
  private final String source;

  /**
   * @param source the source whose events the predictions' stored features aggregate
   */
  public OnlineConsistency(FeatureSpec spec, String source) {
    this.spec = Objects.requireNonNull(spec, "spec");
    this.source = Objects.requireNonNull(source, "source");
    if (spec.source(source).isEmpty()) {
      throw new IllegalArgumentException("the spec declares no source '" + source + "'");
    }
  }

  /**
   * The outcome of a check of online (gRPC) predictions against a replay of the log at the position
   * each prediction's stored features stood at.
   *
   * @param predictions online predictions read
   * @param compared predictions compared
   * @param identical of those, the ones whose stored inputs are bit-identical to the replay's
   * @param withoutInputs predictions that did not log their input vector
   * @param withoutVersion predictions of a version not in what was read, or without the entity
   * @param inputs per stored input of the model, in declared order
   * @param causes differing values by cause
   */
  public record Report(
      long predictions,
      long compared,
      long identical,
      long withoutInputs,
      long withoutVersion,
      List<Consistency.InputSkew> inputs,
      Map<Consistency.Cause, Long> causes) {
    public Report {
      inputs = List.copyOf(inputs);
      causes = Map.copyOf(causes);
    }

    /** {@code 1,000 of 1,000 gRPC predictions identical to a replay at their log position}. */
    public String summary() {
      return String.format(
          Locale.ROOT,
          "%,d of %,d gRPC predictions identical to a replay of the log at their position (%.1f%%)",
          identical,
          compared,
          compared == 0 ? 100.0 : 100.0 * identical / compared);
    }
  }

  /**
   * Compares online predictions with a replay of the events log at the position their stored
   * features stood at ({@code feature_positions}): the entity's accepted events before that offset,
   * folded into tiles by the ETL's rules and read at the prediction's time as the store reads them.
   * Only stored inputs are compared (request-time ones come from the caller, not the log).
   * Predictions of stream scoring (those naming an event) are left out.
   *
   * @param log the source's events, in log order
   */
  public Report check(
      Iterable<Consistency.Logged> log,
      Map<Long, ModelVersionSpec> versions,
      Iterable<Prediction> predictions) {
    String topic = TopicNames.events(source);
    String keyField = spec.source(source).orElseThrow().keyField();
    Map<String, ArrayDeque<Online>> byEntity = new HashMap<>();
    long read = 0;
    long withoutInputs = 0;
    long withoutVersion = 0;
    List<Online> all = new ArrayList<>();
    for (Prediction p : predictions) {
      if (!p.getEventId().isEmpty()) {
        continue;
      }
      read++;
      String entity = p.getEntityIdsMap().get(keyField);
      ModelVersionSpec version = versions.get(p.getModelVersion());
      if (p.getFeaturesCount() == 0) {
        withoutInputs++;
      } else if (entity == null || version == null) {
        withoutVersion++;
      } else {
        long next = 0;
        for (LogPosition at : p.getFeaturePositionsList()) {
          if (at.getTopic().equals(topic)) {
            next = Math.max(next, at.getNextOffset());
          }
        }
        all.add(new Online(p, version, entity, next));
      }
    }
    all.sort(Comparator.comparingLong(Online::nextOffset));
    for (Online o : all) {
      byEntity.computeIfAbsent(o.entity(), e -> new ArrayDeque<>()).add(o);
    }
    Replay replay = Replay.finalRowsOnly(spec, source);
    Consistency.Tally tally = new Consistency.Tally();
    for (Consistency.Logged l : log) {
      String entity = l.event().getEntityId();
      ArrayDeque<Online> waiting = byEntity.get(entity);
      while (waiting != null
          && !waiting.isEmpty()
          && waiting.peek().nextOffset() <= l.origin().offset()) {
        compareOnline(tally, waiting.poll(), replay);
      }
      replay.accept(l.event());
    }
    for (ArrayDeque<Online> waiting : byEntity.values()) {
      for (Online o : waiting) {
        compareOnline(tally, o, replay);
      }
    }
    List<Consistency.InputSkew> skews = new ArrayList<>();
    for (String name : tally.names) {
      skews.add(Consistency.skew(name, tally.differences.getOrDefault(name, List.of())));
    }
    return new Report(
        read, tally.compared, tally.identical, withoutInputs, withoutVersion, skews, tally.causes);
  }

  /** An online prediction waiting for the replay to reach its position. */
  private record Online(
      Prediction prediction, ModelVersionSpec version, String entity, long nextOffset) {}

  private void compareOnline(Consistency.Tally tally, Online o, Replay replay) {
    Prediction p = o.prediction();
    ModelVersionSpec version = o.version();
    List<String> stored = new ArrayList<>();
    tally.compared++;
    boolean same = true;
    for (int i = 0; i < version.getInputsCount(); i++) {
      ModelInput input = version.getInputs(i);
      var ref = FeatureRef.of(input.getName());
      if (ref.isEmpty()) {
        continue;
      }
      ViewSpec view = spec.views().get(ref.get().view());
      if (!view.source().equals(source)) {
        continue; // another source's log is not replayed here
      }
      stored.add(input.getName());
      long asOf = p.getPredictedAtMs();
      long current = view.tileStart(asOf);
      TreeMap<Long, FeatureRow> tiles = replay.finalRows(view.name()).get(o.entity());
      List<FeatureRow> window =
          tiles == null
              ? List.of()
              : new ArrayList<>(
                  tiles.subMap(current - view.longestWindowMs(), true, asOf, false).values());
      FeatureValue fv = Windows.value(view, view.features().get(ref.get().feature()), window, asOf);
      float expected =
          fv.getStatus() == FeatureStatus.FEATURE_STATUS_OK
              ? InputAssembler.number(fv.getValue(), input.getName())
              : (float) input.getDefaultValue();
      float served = Consistency.served(p, i);
      if (!Consistency.same(served, expected)) {
        same = false;
        tally
            .differences
            .computeIfAbsent(input.getName(), k -> new ArrayList<>())
            .add((double) served - expected);
        Consistency.Cause cause;
        if (fv.getStatus() == FeatureStatus.FEATURE_STATUS_EXPIRED) {
          cause = Consistency.Cause.TTL;
        } else if (fv.getStatus() == FeatureStatus.FEATURE_STATUS_MISSING
            || Consistency.same(served, (float) input.getDefaultValue())) {
          cause = Consistency.Cause.DEFAULT;
        } else {
          cause = Consistency.Cause.TILES_APART;
        }
        tally.causes.merge(cause, 1L, Long::sum);
      }
    }
    if (tally.names.isEmpty()) {
      tally.names = stored;
    }
    if (same) {
      tally.identical++;
    }
  }
}
