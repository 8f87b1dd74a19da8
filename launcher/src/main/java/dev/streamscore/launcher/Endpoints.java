package dev.streamscore.launcher;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a running platform's parts answer, as {@code up} prints them ({@code name: address}, in
 * this order).
 *
 * @param kafka the bootstrap servers
 * @param ingest the ingest gateway's {@code host:port}
 * @param features the FeatureService's, when the spec declares views
 * @param registry the model registry's
 * @param scoring the scoring node's, when the spec declares views
 * @param streamScoring what stream scoring reads and writes, when configured
 * @param etl the ETL job, when one runs
 * @param metrics the Prometheus endpoint's URL
 * @param console the web console's URL, when it runs
 */
record Endpoints(
    String kafka,
    String ingest,
    Optional<String> features,
    String registry,
    Optional<String> scoring,
    Optional<String> streamScoring,
    Optional<String> etl,
    String metrics,
    Optional<String> console) {
  Endpoints {
    for (String address : new String[] {kafka, ingest, registry, metrics}) {
      if (address == null || address.isEmpty()) {
        throw new IllegalArgumentException("kafka, ingest, registry and metrics always have one");
      }
    }
    for (Optional<String> address : List.of(features, scoring, streamScoring, etl, console)) {
      Objects.requireNonNull(address, "an absent endpoint is empty, not null");
    }
  }

  /** Each endpoint by the name {@code up} prints it under, in order; absent ones left out. */
  Map<String, String> byName() {
    Map<String, String> out = new LinkedHashMap<>();
    out.put("kafka", kafka);
    out.put("ingest", ingest);
    features.ifPresent(a -> out.put("features", a));
    out.put("registry", registry);
    scoring.ifPresent(a -> out.put("scoring", a));
    streamScoring.ifPresent(a -> out.put("stream-scoring", a));
    etl.ifPresent(a -> out.put("etl", a));
    out.put("metrics", metrics);
    console.ifPresent(a -> out.put("console", a));
    return out;
  }
}
