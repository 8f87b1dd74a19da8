package dev.streamscore.etl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A feature-definition spec: the single source of truth every engine and the validator read. It
 * declares sources (fields with their cleansing policy, dedupe, per-event transforms) and feature
 * views (per-entity aggregations over tiled windows).
 *
 * <p>Format (YAML):
 *
 * <pre>{@code
 * version: 1
 * sources:
 *   payments:
 *     key: user_id            # entity id field: required string or long
 *     event_id: txn_id        # optional; else derived from topic-partition-offset
 *     event_time: ts          # required timestamp field
 *     fields:
 *       user_id: {type: string, required: true}
 *       txn_id:  {type: string, required: true}
 *       ts:      {type: timestamp, required: true}
 *       amount:  {type: double, required: true, min: 0, max: 1000000}   # if_out_of_range: drop | clamp
 *       country: {type: string, if_null: default, default: unknown}     # if_null: keep | drop | default
 *     dedupe_horizon: 1h      # same event id again within 1h of event time: DUPLICATE
 *     event_time_window: {past: 30d, future: 15m}  # the default; other times: TIME_OUT_OF_WINDOW
 *     transforms:             # run in order; each adds a column
 *       amount_log: {log1p: amount}
 *       amount_bucket: {bucketize: amount, boundaries: [10, 100, 1000]}
 *       amount_z: {standard_scale: amount, mean: 80, std: 120}
 *       country_idx: {categorical: country, vocabulary: [US, GB, DE]}
 * views:
 *   user_txn:
 *     source: payments
 *     tile: 1m                # windows slide by whole tiles
 *     allowed_lateness: 10m   # older than (entity's latest event time - 10m): LATE
 *     ttl: 6h                 # last values older than this read EXPIRED (default: longest window)
 *     features:
 *       txn_count_1h: {agg: count, window: 1h}
 *       amount_sum_1h: {agg: sum, column: amount, window: 1h}
 *       merchants_1h: {agg: approx_distinct, column: merchant_id, window: 1h}
 * }</pre>
 *
 * @param sources the declared sources by name, in declaration order
 * @param views the declared feature views by name, in declaration order
 */
public record FeatureSpec(Map<String, SourceSpec> sources, Map<String, ViewSpec> views) {

  public FeatureSpec {
    sources = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(sources));
    views = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(views));
    for (ViewSpec view : views.values()) {
      if (!sources.containsKey(view.source())) {
        throw new IllegalArgumentException(
            "view '"
                + view.name()
                + "' reads source '"
                + view.source()
                + "', which is not declared");
      }
    }
  }

  /** A spec with sources only. */
  public FeatureSpec(Map<String, SourceSpec> sources) {
    this(sources, Map.of());
  }

  /** The views over one source, in declaration order. */
  public java.util.List<ViewSpec> viewsOf(String source) {
    return views.values().stream().filter(v -> v.source().equals(source)).toList();
  }

  /**
   * Why a job running this spec cannot continue from its state (savepoint, checkpoint) under {@code
   * next}, or empty when it can. It can when every source keeps its entity key, event id, event
   * time and acceptance rules (dedupe horizon, event-time window), and every view keeps its
   * definition and its place among the views of its source, new views coming after them: engines
   * keep an entity's tiles per view number, so a view that moved would read another's tiles. Fields
   * and transforms may be added; views may not be removed.
   */
  public Optional<String> upgradeProblem(FeatureSpec next) {
    for (SourceSpec was : sources.values()) {
      SourceSpec now = next.sources.get(was.name());
      if (now == null) {
        return Optional.of("source '" + was.name() + "' is gone");
      }
      if (!was.keyField().equals(now.keyField())
          || !was.eventIdField().equals(now.eventIdField())
          || !was.eventTimeField().equals(now.eventTimeField())
          || was.dedupeHorizonMs() != now.dedupeHorizonMs()
          || !was.eventTimeWindow().equals(now.eventTimeWindow())) {
        return Optional.of(
            "source '"
                + was.name()
                + "' changes its key, event id, event time, dedupe horizon or event-time window");
      }
      java.util.List<ViewSpec> before = viewsOf(was.name());
      java.util.List<ViewSpec> after = next.viewsOf(was.name());
      for (int i = 0; i < before.size(); i++) {
        ViewSpec view = before.get(i);
        if (i >= after.size() || !after.get(i).name().equals(view.name())) {
          return Optional.of(
              "view '"
                  + view.name()
                  + "' is gone or no longer view "
                  + (i + 1)
                  + " of source '"
                  + was.name()
                  + "'; keep the views in order and add new ones after them");
        }
        if (!after.get(i).equals(view)) {
          return Optional.of(
              "view '" + view.name() + "' changes its definition; add a view under a new name");
        }
      }
    }
    return Optional.empty();
  }

  /** The source with this name, if declared. */
  public Optional<SourceSpec> source(String name) {
    return Optional.ofNullable(sources.get(name));
  }

  /**
   * The spec shipped for the {@code streamscore produce} payments stream: one source, {@code
   * payments}, keyed by {@code user_id}.
   */
  public static FeatureSpec shippedPayments() {
    return parse(shippedPaymentsYaml(), "built-in payments.yaml");
  }

  /** The YAML text of {@link #shippedPayments()}, for engines that ship the spec as text. */
  public static String shippedPaymentsYaml() {
    try (java.io.InputStream in = FeatureSpec.class.getResourceAsStream("payments.yaml")) {
      if (in == null) {
        throw new SpecException("payments.yaml: not found on the class path");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new SpecException("built-in payments.yaml: cannot read: " + e.getMessage());
    }
  }

  /**
   * Reads and validates a spec file.
   *
   * @throws SpecException naming the file, line and problem
   */
  public static FeatureSpec load(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new SpecException(file + ": cannot read the spec: " + e.getMessage());
    }
    return parse(text, file.toString());
  }

  /**
   * Parses and validates spec text.
   *
   * @param origin how errors name the text, usually its file name
   * @throws SpecException naming the origin, line and problem
   */
  public static FeatureSpec parse(String text, String origin) {
    return new SpecParser(origin).parse(text);
  }
}
