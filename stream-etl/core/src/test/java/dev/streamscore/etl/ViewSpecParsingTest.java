package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.proto.v1.Value;
import org.junit.jupiter.api.Test;

class ViewSpecParsingTest {

  private static final String BASE =
      """
      version: 1
      sources:
        s:
          key: user
          event_id: id
          event_time: ts
          dedupe_horizon: 30m
          fields:
            user: {type: string, required: true}
            id: {type: string, required: true}
            ts: {type: timestamp, required: true}
            amount: {type: double, min: 0, max: 100, if_out_of_range: clamp}
            country: {type: string, if_null: default, default: XX}
          transforms:
            amount_log: {log1p: amount}
            amount_bucket: {bucketize: amount, boundaries: [1, 10]}
            country_idx: {categorical: country, vocabulary: [US, GB]}
      views:
        v:
          source: s
          tile: 1m
          allowed_lateness: 5m
          features:
            n_1h: {agg: count, window: 1h}
            sum_10m: {agg: sum, column: amount_log, window: 10m}
            last_country: {agg: last, column: country_idx, window: 1h}
      """;

  private static FeatureSpec parse(String yaml) {
    return FeatureSpec.parse(yaml, "v.yaml");
  }

  @Test
  void parsesCleansingTransformsAndViews() {
    FeatureSpec spec = parse(BASE);
    SourceSpec s = spec.source("s").orElseThrow();

    assertThat(s.dedupeHorizonMs()).isEqualTo(30 * 60_000L);
    assertThat(s.fields().get("amount").ifOutOfRange()).isEqualTo(FieldSpec.RangePolicy.CLAMP);
    assertThat(s.fields().get("country").ifNull()).isEqualTo(FieldSpec.NullPolicy.DEFAULT);
    assertThat(s.fields().get("country").defaultValue())
        .contains(Value.newBuilder().setStringValue("XX").build());
    assertThat(s.transforms())
        .containsExactly(
            new TransformSpec.Log1p("amount_log", "amount"),
            new TransformSpec.Bucketize("amount_bucket", "amount", java.util.List.of(1.0, 10.0)),
            new TransformSpec.Categorical("country_idx", "country", java.util.List.of("US", "GB")));
    ViewSpec v = spec.views().get("v");
    assertThat(v.tileMs()).isEqualTo(60_000);
    assertThat(v.allowedLatenessMs()).isEqualTo(300_000);
    assertThat(v.ttlMs()).as("ttl defaults to the longest window").isEqualTo(3_600_000);
    assertThat(v.columns()).containsExactly("amount_log", "country_idx");
    assertThat(v.topic()).isEqualTo("features.v");
    assertThat(spec.viewsOf("s")).containsExactly(v);
  }

  @Test
  void shippedPaymentsSpecDeclaresTwoViews() {
    FeatureSpec spec = FeatureSpec.shippedPayments();
    assertThat(spec.views()).containsOnlyKeys("user_txn", "user_daily");
    assertThat(spec.views().get("user_txn").features()).containsKey("merchants_1h");
    assertThat(spec.views().get("user_txn").sketches("merchant_id")).isTrue();
  }

  @Test
  void fingerprintChangesWithTheTransformButNotWithTheWindow() {
    FeatureSpec a = parse(BASE);
    FeatureSpec b = parse(BASE.replace("boundaries: [1, 10]", "boundaries: [1, 20]"));
    FeatureSpec c = parse(BASE.replace("log1p: amount", "standard_scale: amount, mean: 1, std: 2"));
    FeatureSpec d = parse(BASE.replace("window: 10m}", "window: 20m}"));
    String fa = a.views().get("v").fingerprint(a.source("s").orElseThrow());

    assertThat(fa).hasSize(16);
    assertThat(c.views().get("v").fingerprint(c.source("s").orElseThrow())).isNotEqualTo(fa);
    assertThat(d.views().get("v").fingerprint(d.source("s").orElseThrow())).isEqualTo(fa);
    // The bucket column is not read by the view, yet it is part of the source's declaration.
    assertThat(b.views().get("v").fingerprint(b.source("s").orElseThrow())).isNotNull();
  }

  @Test
  void namesTheLineOfEveryViewError() {
    assertThatThrownBy(() -> parse(BASE.replace("window: 10m}", "window: 90s}")))
        .hasMessage(
            "v.yaml:25: view 'v' feature 'sum_10m': window 90s is not a multiple of the tile 1m");
    assertThatThrownBy(() -> parse(BASE.replace("source: s", "source: t")))
        .hasMessage("v.yaml:20: view 'v': source 't' is not declared (declared: s)");
    assertThatThrownBy(
            () -> parse(BASE.replace("agg: sum, column: amount_log", "agg: sum, column: country")))
        .hasMessage(
            "v.yaml:25: view 'v' feature 'sum_10m': sum needs a double or long column; 'country' is string");
    assertThatThrownBy(() -> parse(BASE.replace("column: amount_log", "column: nope")))
        .hasMessage(
            "v.yaml:25: view 'v' feature 'sum_10m': column 'nope' is not a payload field or transform output of source 's'");
    assertThatThrownBy(() -> parse(BASE.replace("agg: count", "agg: median")))
        .hasMessageStartingWith(
            "v.yaml:24: view 'v' feature 'n_1h': unknown agg 'median' (expected one of count, sum,");
    assertThatThrownBy(() -> parse(BASE.replace("tile: 1m", "tile: 1 minute")))
        .hasMessage(
            "v.yaml:21: view 'v' tile must be a duration such as 500ms, 30s, 5m, 1h or 7d, got '1 minute'");
    assertThatThrownBy(() -> parse(BASE.replace("agg: sum, column: amount_log, ", "agg: sum, ")))
        .hasMessage("v.yaml:25: view 'v': feature 'sum_10m': sum needs a 'column'");
  }

  @Test
  void namesTheLineOfEveryCleansingAndTransformError() {
    assertThatThrownBy(() -> parse(BASE.replace("if_out_of_range: clamp", "if_out_of_range: fix")))
        .hasMessage(
            "v.yaml:12: source 's' field 'amount' if_out_of_range must be one of drop, clamp, got 'fix'");
    assertThatThrownBy(
            () -> parse(BASE.replace("if_null: default, default: XX", "if_null: default")))
        .hasMessage(
            "v.yaml:13: source 's' field 'country': field 'country': if_null: default and a 'default' value go together");
    assertThatThrownBy(() -> parse(BASE.replace("{log1p: amount}", "{log1p: country}")))
        .hasMessage("v.yaml:15: source 's' transform 'amount_log' cannot read 'country', a string");
    assertThatThrownBy(() -> parse(BASE.replace("{log1p: amount}", "{sqrt: amount}")))
        .hasMessage(
            "v.yaml:15: source 's' transform 'amount_log': names no transform (expected one of bucketize, categorical, log1p, standard_scale)");
    assertThatThrownBy(() -> parse(BASE.replace("boundaries: [1, 10]", "boundaries: [10, 1]")))
        .hasMessage(
            "v.yaml:16: source 's' transform 'amount_bucket': bucketize boundaries must be finite and strictly increasing, got [10.0, 1.0]");
    assertThatThrownBy(() -> parse(BASE.replace("dedupe_horizon: 30m", "dedupe_horizon: soon")))
        .hasMessageContaining("v.yaml:7: source 's' dedupe_horizon must be a duration");
  }
}
