package dev.streamscore.launcher;

import dev.streamscore.etl.TopicNames;
import dev.streamscore.ingest.DeadLetterLog;
import dev.streamscore.ingest.IngestCounters;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.proto.v1.AliasChange;
import dev.streamscore.proto.v1.AliasState;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.Model;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.NodeStatus;
import dev.streamscore.proto.v1.Redrive;
import dev.streamscore.proto.v1.RejectReason;
import dev.streamscore.proto.v1.TrafficPolicy;
import dev.streamscore.proto.v1.TrafficSplit;
import dev.streamscore.proto.v1.TrainingRun;
import dev.streamscore.scoring.monitor.ColumnDrift;
import dev.streamscore.scoring.monitor.PredictionMonitor;
import dev.streamscore.scoring.monitor.Quality;
import dev.streamscore.scoring.monitor.VersionQuality;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What the console shows, as JSON-ready maps: the platform's live figures (read from its own
 * metrics registry), the registry's models, and the monitor's drift and quality.
 */
final class ConsoleApi {
  /**
   * What the console reads.
   *
   * @param registry the model registry's client, when the process can reach one
   * @param monitor the prediction monitor, when the process runs one
   * @param deadLetters the dead-letter log, when the process reads one
   */
  record Sources(
      PrometheusRegistry metrics,
      Optional<RegistryClient> registry,
      Optional<PredictionMonitor> monitor,
      Optional<DeadLetterLog> deadLetters,
      Clock clock) {}

  private final Sources sources;
  // The previous overview's counters, for rates between two overviews.
  private long lastAt;
  private double lastPredictions = Double.NaN;
  private Map<Double, Double> lastBuckets = Map.of();

  ConsoleApi(Sources sources) {
    this.sources = sources;
  }

  private List<PrometheusText.Sample> samples() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      new PrometheusTextFormatWriter(false).write(out, sources.metrics().scrape());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return PrometheusText.parse(out.toString(StandardCharsets.UTF_8));
  }

  /** Throughput, latency, stages, ETL and store figures now; rates since the previous call. */
  synchronized Map<String, Object> overview() {
    long now = sources.clock().millis();
    double predictions = 0;
    Map<String, Double> byVersion = new TreeMap<>();
    Map<String, Double> byCode = new TreeMap<>();
    Map<Double, Double> buckets = new TreeMap<>();
    Map<String, Map<String, Object>> stages = new TreeMap<>();
    Map<String, Map<String, Object>> etl = new TreeMap<>();
    Map<String, Object> store = new LinkedHashMap<>();
    Map<String, Object> monitor = new LinkedHashMap<>();
    for (PrometheusText.Sample s : samples()) {
      Map<String, String> l = s.labels();
      switch (s.name()) {
        case "streamscore_scoring_predictions_total" -> {
          predictions += s.value();
          byVersion.merge(l.get("model") + " v" + l.get("version"), s.value(), Double::sum);
        }
        case "streamscore_scoring_requests_total" ->
            byCode.merge(l.get("method") + " " + l.get("code"), s.value(), Double::sum);
        case "streamscore_scoring_latency_seconds_bucket" -> {
          double le =
              l.get("le").equals("+Inf")
                  ? Double.POSITIVE_INFINITY
                  : Double.parseDouble(l.get("le"));
          buckets.merge(le, s.value(), Double::sum);
        }
        case "streamscore_stage_state" -> {
          if (s.value() == 1) {
            Map<String, Object> st =
                stages.computeIfAbsent(l.get("stage"), k -> new LinkedHashMap<>());
            st.put("state", l.get("state"));
            st.put("reason", l.getOrDefault("reason", ""));
          }
        }
        case "streamscore_stage_lag_records" ->
            stages
                .computeIfAbsent(l.get("stage"), k -> new LinkedHashMap<>())
                .put("lag", s.value());
        case "streamscore_stage_restarts_total" ->
            stages
                .computeIfAbsent(l.get("stage"), k -> new LinkedHashMap<>())
                .put("restarts", s.value());
        case "streamscore_etl_events_total",
            "streamscore_etl_rows_total",
            "streamscore_etl_checkpoint_age_seconds" ->
            etl.computeIfAbsent(l.get("engine"), k -> new LinkedHashMap<>())
                .put(
                    s.name().substring("streamscore_etl_".length()).replaceFirst("_total$", ""),
                    s.value());
        case "streamscore_etl_rejected_total" ->
            etl.computeIfAbsent(l.get("engine"), k -> new LinkedHashMap<>())
                .put("rejected " + l.get("reason"), s.value());
        case "streamscore_etl_late_total" ->
            etl.computeIfAbsent(l.get("engine"), k -> new LinkedHashMap<>())
                .put("late " + l.get("view"), s.value());
        case "streamscore_feature_store_freshness_seconds" ->
            store.put("freshnessSeconds", s.value());
        case "streamscore_feature_store_lag_rows" -> store.put("lagRows", s.value());
        case "streamscore_feature_store_rows_read_total" -> store.put("rowsRead", s.value());
        case "streamscore_monitor_predictions_read_total" ->
            monitor.put("predictionsRead", s.value());
        case "streamscore_monitor_labels_read_total" -> monitor.put("labelsRead", s.value());
        case "streamscore_monitor_caught_up" -> monitor.put("caughtUp", s.value() == 1);
        default -> {}
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("at", now);
    double seconds = (now - lastAt) / 1000.0;
    boolean rated = !Double.isNaN(lastPredictions) && seconds > 0;
    out.put("predictions", predictions);
    out.put(
        "predictionsPerSecond",
        rated ? Math.max(0, predictions - lastPredictions) / seconds : null);
    out.put("predictionsByVersion", byVersion);
    out.put("requestsByCode", byCode);
    Map<String, Object> latency = new LinkedHashMap<>();
    latency.put("p50Ms", rated ? quantile(buckets, lastBuckets, 0.5) : null);
    latency.put("p99Ms", rated ? quantile(buckets, lastBuckets, 0.99) : null);
    out.put("latency", latency);
    out.put("stages", stages);
    out.put("etl", etl);
    out.put("featureStore", store);
    out.put("monitor", monitor);
    lastAt = now;
    lastPredictions = predictions;
    lastBuckets = buckets;
    return out;
  }

  /**
   * The {@code q} quantile of the requests between two readings of a classic histogram, as the
   * upper bound of the bucket it falls in, in ms; null without requests between them.
   */
  static Double quantile(Map<Double, Double> now, Map<Double, Double> before, double q) {
    double total =
        now.getOrDefault(Double.POSITIVE_INFINITY, 0.0)
            - before.getOrDefault(Double.POSITIVE_INFINITY, 0.0);
    if (total <= 0) {
      return null;
    }
    for (Map.Entry<Double, Double> b : new TreeMap<>(now).entrySet()) {
      double inBucket = b.getValue() - before.getOrDefault(b.getKey(), 0.0);
      if (inBucket >= q * total) {
        return Double.isInfinite(b.getKey()) ? null : b.getKey() * 1000;
      }
    }
    return null;
  }

  /** Every model: versions, aliases with their policies, alias history, and what nodes serve. */
  Map<String, Object> models() {
    List<Object> models = new ArrayList<>();
    RegistryClient call = registry();
    for (Model m : call.list("")) {
      Map<String, Object> model = new LinkedHashMap<>();
      model.put("name", m.getName());
      List<Object> versions = new ArrayList<>();
      for (ModelVersion v : m.getVersionsList()) {
        Map<String, Object> version = new LinkedHashMap<>();
        version.put("version", v.getVersion());
        version.put("createdAtMs", v.getCreatedAtMs());
        version.put("createdBy", v.getCreatedBy());
        version.put("sha256", v.getSha256());
        version.put("sizeBytes", v.getSizeBytes());
        version.put("metrics", new TreeMap<>(v.getSpec().getMetricsMap()));
        version.put("inputs", v.getSpec().getInputsCount());
        version.put(
            "profile", v.getSpec().hasProfile() ? v.getSpec().getProfile().getSource() : null);
        version.put("description", v.getSpec().getDescription());
        versions.add(version);
      }
      model.put("versions", versions);
      List<Object> aliases = new ArrayList<>();
      for (AliasState a : m.getAliasesList()) {
        Map<String, Object> alias = new LinkedHashMap<>();
        alias.put("alias", a.getAlias());
        alias.put("policy", policy(a.getPolicy()));
        alias.put("revision", a.getRevision());
        alias.put("updatedAtMs", a.getUpdatedAtMs());
        alias.put("updatedBy", a.getUpdatedBy());
        aliases.add(alias);
      }
      model.put("aliases", aliases);
      List<Object> history = new ArrayList<>();
      for (AliasChange c : call.history(m.getName(), "", 100)) {
        Map<String, Object> change = new LinkedHashMap<>();
        change.put("alias", c.getAlias());
        change.put("from", c.hasFrom() ? policy(c.getFrom()) : null);
        change.put("to", policy(c.getTo()));
        change.put("revision", c.getRevision());
        change.put("atMs", c.getAtMs());
        change.put("by", c.getBy());
        change.put("reason", c.getReason());
        history.add(change);
      }
      model.put("history", history);
      List<Object> nodes = new ArrayList<>();
      for (NodeStatus n : call.nodeStatuses(m.getName())) {
        Map<String, Object> node = new LinkedHashMap<>();
        node.put("node", n.getNodeId());
        node.put("alias", n.getAlias());
        node.put("serving", n.getServingVersionsList());
        node.put("state", n.getState().name().replace("SYNC_STATE_", ""));
        node.put("error", n.hasError() ? n.getError().getMessage() : "");
        node.put("attemptedRevision", n.getAttemptedRevision());
        node.put("reportedAtMs", n.getReportedAtMs());
        nodes.add(node);
      }
      model.put("nodes", nodes);
      models.add(model);
    }
    return Map.of("models", models);
  }

  /**
   * Training runs, newest first: who, what, the headline figures, the data, and the versions
   * registered from each.
   */
  Map<String, Object> runs() {
    RegistryClient call = registry();
    Map<String, List<Long>> registered = new TreeMap<>();
    for (Model m : call.list("")) {
      for (ModelVersion v : m.getVersionsList()) {
        if (!v.getSpec().getRunId().isEmpty()) {
          registered
              .computeIfAbsent(v.getSpec().getRunId(), id -> new ArrayList<>())
              .add(v.getVersion());
        }
      }
    }
    List<Object> runs = new ArrayList<>();
    List<TrainingRun> all = new ArrayList<>(call.runs(""));
    all.sort(java.util.Comparator.comparingLong(TrainingRun::getRecordedAtMs).reversed());
    for (TrainingRun r : all) {
      Map<String, Object> run = new LinkedHashMap<>();
      run.put("id", r.getId());
      run.put("model", r.getModel());
      run.put("algorithm", r.getAlgorithm());
      run.put("search", r.getSearch());
      run.put("parameters", new TreeMap<>(r.getParametersMap()));
      run.put("metrics", new TreeMap<>(r.getMetricsMap()));
      run.put("recordedAtMs", r.getRecordedAtMs());
      run.put("durationMs", r.getDurationMs());
      run.put("by", r.getBy());
      run.put("rows", r.getLineage().getRows());
      run.put("labelRate", r.getLineage().getLabelRate());
      run.put("topic", r.getLineage().getTopic());
      run.put("trials", r.getTrialsCount());
      run.put("versions", registered.getOrDefault(r.getId(), List.of()));
      runs.add(run);
    }
    return Map.of("runs", runs);
  }

  /** Runs side by side, as {@code runs compare} prints them. */
  Map<String, Object> compareRuns(List<String> ids) {
    RegistryClient call = registry();
    List<TrainingRun> runs = new ArrayList<>();
    for (String id : ids) {
      try {
        runs.add(call.run(id));
      } catch (io.grpc.StatusRuntimeException e) {
        if (e.getStatus().getCode() == io.grpc.Status.Code.NOT_FOUND) {
          throw new ConsoleException(404, "no run with id '" + id + "'");
        }
        throw e;
      }
    }
    return Map.of("runs", ids, "rows", RunComparison.rows(runs));
  }

  private RegistryClient registry() {
    return sources
        .registry()
        .orElseThrow(() -> new ConsoleException(503, "no model registry"))
        .within(Duration.ofSeconds(5));
  }

  private static String policy(TrafficPolicy p) {
    List<String> parts = new ArrayList<>();
    for (TrafficSplit s : p.getSplitsList()) {
      parts.add("v" + s.getVersion() + (p.getSplitsCount() > 1 ? " " + s.getWeight() : ""));
    }
    if (p.getShadowVersion() != 0) {
      parts.add("shadow v" + p.getShadowVersion());
    }
    return String.join(", ", parts);
  }

  private PredictionMonitor monitor() {
    return sources
        .monitor()
        .orElseThrow(() -> new ConsoleException(503, "no prediction monitor here"));
  }

  /** A model's drift per version, window and column, with both histograms. */
  Map<String, Object> drift(String model) {
    List<Object> rows = new ArrayList<>();
    for (ColumnDrift d : monitor().drift(model)) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("version", d.version());
      row.put("window", d.window());
      row.put("role", d.role().label());
      row.put("column", d.name());
      row.put(
          "kind",
          d.kind().name().replace("DISTRIBUTION_KIND_", "").toLowerCase(java.util.Locale.ROOT));
      row.put("rows", d.rows());
      row.put("psi", d.psi());
      row.put("ks", d.ks());
      row.put("js", d.js());
      row.put("defaultedRatio", d.defaultedRatio());
      row.put("points", d.points());
      row.put("reference", d.reference());
      row.put("live", d.live());
      rows.add(row);
    }
    return Map.of(
        "model",
        model,
        "minRows",
        monitor().config().minRows(),
        "psiAlert",
        ModelsDrift.PSI_ALERT,
        "columns",
        rows);
  }

  /** A model's live quality per version and window, with calibration. */
  Map<String, Object> quality(String model) {
    List<Object> rows = new ArrayList<>();
    for (VersionQuality v : monitor().quality(model)) {
      Quality q = v.quality();
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("version", v.version());
      row.put("window", v.window());
      row.put("labelled", q.labelled());
      row.put("positives", q.positives());
      row.put("auc", q.auc());
      row.put("referenceAuc", v.referenceAuc());
      row.put("logLoss", q.logLoss());
      row.put("precision", q.precision());
      row.put("recall", q.recall());
      row.put("threshold", v.threshold());
      row.put("calibrationError", q.calibrationError());
      row.put("binCount", q.binCount());
      row.put("binPredicted", q.binPredicted());
      row.put("binObserved", q.binObserved());
      rows.add(row);
    }
    return Map.of(
        "model", model, "versions", rows, "unlabelled", new TreeMap<>(monitor().unlabelled()));
  }

  private DeadLetterLog deadLetterLog() {
    return sources
        .deadLetters()
        .orElseThrow(() -> new ConsoleException(503, "no dead-letter log here"));
  }

  /** Dead letters by source, stage and reason, and the latest redrives. */
  Map<String, Object> deadLetters() {
    DeadLetterLog.Summary summary = deadLetterLog().summary();
    List<Object> counts = new ArrayList<>();
    for (DeadLetterLog.ReasonCount c : summary.counts()) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("source", c.source());
      row.put("stage", c.stage());
      row.put("reason", IngestCounters.reasonName(c.reason()));
      row.put("count", c.count());
      row.put("lastRejectedAtMs", c.lastRejectedAtMs());
      counts.add(row);
    }
    return Map.of(
        "read",
        summary.read(),
        "caughtUp",
        summary.caughtUp(),
        "counts",
        counts,
        "redrives",
        summary.redrives().stream().map(ConsoleApi::redrive).toList());
  }

  /** The latest letters of one source, stage and reason. */
  Map<String, Object> deadLetterSamples(String source, String stage, String reason) {
    RejectReason code = reasonCode(reason);
    List<Object> letters = new ArrayList<>();
    for (DeadLetterLog.Letter l : deadLetterLog().samples(source, stage, code)) {
      DeadLetter d = l.letter();
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("partition", l.partition());
      row.put("offset", l.offset());
      row.put("sourceTopic", d.getSourceTopic());
      row.put("sourcePartition", d.getSourcePartition());
      row.put("sourceOffset", d.getSourceOffset());
      row.put("field", d.getField());
      row.put("message", d.getMessage());
      row.put("rejectedAtMs", d.getRejectedAtMs());
      row.put("valueSize", d.getOriginalValueSize());
      row.put("truncated", d.getOriginalTruncated());
      String text = utf8(d.getOriginalValue().toByteArray());
      row.put("value", text);
      row.put(
          "valueBase64",
          text == null
              ? java.util.Base64.getEncoder().encodeToString(d.getOriginalValue().toByteArray())
              : null);
      row.put("redrive", l.redrive().map(ConsoleApi::redrive).orElse(null));
      letters.add(row);
    }
    return Map.of("source", source, "stage", stage, "reason", reason, "letters", letters);
  }

  /** Sends one letter back to its raw topic, as it was or corrected. */
  Map<String, Object> redrive(int partition, long offset, Optional<byte[]> corrected, String by) {
    try {
      return redrive(deadLetterLog().redrive(partition, offset, corrected, by));
    } catch (DeadLetterLog.RefusedException e) {
      int status =
          switch (e.kind()) {
            case NOT_FOUND -> 404;
            case INVALID -> 400;
            case CONFLICT -> 409;
            case UNAVAILABLE -> 503;
          };
      throw new ConsoleException(status, e.getMessage());
    }
  }

  private static Map<String, Object> redrive(Redrive r) {
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("letter", TopicNames.DLQ + " " + r.getDlqPartition() + "/" + r.getDlqOffset());
    row.put("reason", IngestCounters.reasonName(r.getReason()));
    row.put(
        "target", r.getTargetTopic() + " " + r.getTargetPartition() + "/" + r.getTargetOffset());
    row.put("corrected", r.getCorrected());
    row.put("atMs", r.getRedrivenAtMs());
    row.put("by", r.getBy());
    return row;
  }

  private static RejectReason reasonCode(String name) {
    try {
      RejectReason r =
          RejectReason.valueOf("REJECT_REASON_" + name.toUpperCase(java.util.Locale.ROOT));
      if (r != RejectReason.UNRECOGNIZED) {
        return r;
      }
    } catch (IllegalArgumentException e) {
      // answered below
    }
    throw new ConsoleException(
        400, "reason must be a reject reason such as missing_field, got '" + name + "'");
  }

  /** The text of {@code bytes} when they are valid UTF-8; null otherwise. */
  static String utf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
          .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(bytes))
          .toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      return null;
    }
  }

  /** An answer other than 200, with why. */
  static final class ConsoleException extends RuntimeException {
    final int status;

    ConsoleException(int status, String message) {
      super(message);
      this.status = status;
    }
  }
}
