package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.ingest.generator.GeneratedEvent;
import dev.streamscore.ingest.generator.GeneratorConfig;
import dev.streamscore.ingest.generator.PaymentsGenerator;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.modelsync.OnnxModel;
import dev.streamscore.modelsync.Profiles;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.ReferenceProfile;
import dev.streamscore.proto.v1.ScoringGrpc;
import dev.streamscore.proto.v1.Value;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The drift drill against a running platform: payments from the generator are scored through gRPC,
 * minute by minute, and at minute 15 the generator shifts every amount by 0.5 standard deviations.
 * The platform's own {@code /metrics} are recorded each minute. The amount's 5-minute PSI crosses
 * the alert threshold within two windows while the unshifted inputs stay below it; the recorded
 * series, replayed through {@code promtool test rules}, fire the shipped alert for the amount and
 * for nothing else.
 *
 * <p>An hour of minutes cannot pass in a test: the platform runs on a clock the test sets to each
 * minute in turn (time only moves forward; everything else runs in real time).
 */
class DriftDrillIT {
  private static final Logger LOG = LoggerFactory.getLogger(DriftDrillIT.class);
  private static final int MINUTES = 18;
  private static final int SHIFT_AT = 8;
  private static final int PER_MINUTE = 300;
  private static final List<String> INPUTS = List.of("amount", "items", "user_txn:txn_count_10m");
  private static final Pattern AMOUNT = Pattern.compile("\"amount\":([0-9.]+)");
  private static final Pattern ITEMS = Pattern.compile("\"items\":([0-9]+)");

  @TempDir Path dir;

  /** Real time moved to where the test sets it; never backwards. */
  static final class SetClock extends Clock {
    private final AtomicLong offset = new AtomicLong();

    void set(long epochMs) {
      long next = epochMs - System.currentTimeMillis();
      offset.accumulateAndGet(next, Math::max);
    }

    @Override
    public long millis() {
      return System.currentTimeMillis() + offset.get();
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis());
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }

  private static double[] payment(GeneratedEvent event) {
    String json = new String(event.json(), StandardCharsets.UTF_8);
    Matcher amount = AMOUNT.matcher(json);
    Matcher items = ITEMS.matcher(json);
    assertThat(amount.find() && items.find()).as(json).isTrue();
    return new double[] {Double.parseDouble(amount.group(1)), Double.parseDouble(items.group(1))};
  }

  /** The version's spec, its profile drawn from 20,000 unshifted payments of another seed. */
  private static ModelVersionSpec spec(Path model) {
    PaymentsGenerator reference =
        new PaymentsGenerator(
            GeneratorConfig.defaults(11).withRates(0, 0, 0), InstantSource.system());
    int n = 20_000;
    double[][] columns = new double[3][n];
    float[][] rows = new float[n][];
    for (int i = 0; i < n; i++) {
      double[] p = payment(reference.next());
      columns[0][i] = p[0];
      columns[1][i] = p[1];
      rows[i] = new float[] {(float) p[0], (float) p[1], 0};
    }
    boolean[] alwaysDefaulted = new boolean[n];
    java.util.Arrays.fill(alwaysDefaulted, true);
    ModelVersionSpec.Builder spec =
        ModelVersionSpec.newBuilder()
            .setName("fraud")
            .setFormat(ModelFormat.MODEL_FORMAT_ONNX)
            .setPositiveOutput("p1");
    ReferenceProfile.Builder profile = ReferenceProfile.newBuilder().setSource("generator seed 11");
    for (int c = 0; c < INPUTS.size(); c++) {
      String input = INPUTS.get(c);
      spec.addInputs(
          ModelInput.newBuilder()
              .setName(input)
              .setView(input.startsWith("user_txn:") ? "user_txn" : ""));
      profile.addInputs(Profiles.distribution(input, columns[c], c == 2 ? alwaysDefaulted : null));
    }
    try (OnnxModel onnx = OnnxModel.load(model)) {
      for (int o = 0; o < 2; o++) {
        spec.addOutputs(ModelOutput.newBuilder().setName("p" + o));
        double[] scores = new double[n];
        for (int i = 0; i < n; i++) {
          scores[i] = onnx.predict(rows[i])[o];
        }
        profile.addOutputs(Profiles.distribution("p" + o, scores, null));
      }
    }
    return spec.setProfile(profile).build();
  }

  /** The samples of {@code name} on the platform's /metrics, by their labels. */
  private static Map<Map<String, String>, Double> scrape(String metricsUrl, String name)
      throws Exception {
    String text =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(metricsUrl)).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    Map<Map<String, String>, Double> out = new LinkedHashMap<>();
    for (PrometheusText.Sample s : PrometheusText.parse(text)) {
      if (s.name().equals(name)) {
        out.put(s.labels(), s.value());
      }
    }
    return out;
  }

  private static double one(Map<Map<String, String>, Double> samples, String column) {
    return samples.entrySet().stream()
        .filter(
            e ->
                column.equals(e.getKey().get("column"))
                    && "5m".equals(e.getKey().get("window"))
                    && "1".equals(e.getKey().get("version")))
        .mapToDouble(Map.Entry::getValue)
        .findFirst()
        .orElse(Double.NaN);
  }

  @Test
  void aHalfSigmaShiftOfOneInputAlertsWithinTwoWindowsAndNothingElseDoes() throws Exception {
    SetClock clock = new SetClock();
    // Minute 0 starts at the next whole minute of real time.
    long start = (System.currentTimeMillis() / 60_000 + 1) * 60_000;
    clock.set(start + 1_000);
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Platform platform =
            Platform.start(
                PlatformConfig.anyPorts(Optional.of(kafka.bootstrapServers()), Optional.of(dir))
                    .withGrpcInputLog(true),
                clock)) {
      Endpoints endpoints = platform.endpoints();
      ManagedChannel registryChannel =
          NettyChannelBuilder.forTarget(endpoints.registry()).usePlaintext().build();
      ManagedChannel scoring =
          NettyChannelBuilder.forTarget(endpoints.scoring().orElseThrow()).usePlaintext().build();
      try {
        RegistryClient registry = new RegistryClient(registryChannel, Optional.empty(), "drill");
        Path model = TestModels.logisticRegression(dir.resolve("m.onnx"), 3, 1);
        registry.register(model, spec(model));
        registry.promote("fraud", "prod", 1);
        ScoringGrpc.ScoringBlockingStub stub = ScoringGrpc.newBlockingStub(scoring);
        await()
            .atMost(Duration.ofSeconds(60))
            .ignoreExceptions()
            .until(() -> predict(stub, "warm-up", new double[] {10, 1}) > 0);

        GeneratorConfig config = GeneratorConfig.defaults(42).withRates(0, 0, 0);
        PaymentsGenerator plain = new PaymentsGenerator(config, clock);
        PaymentsGenerator shifted = new PaymentsGenerator(config.withAmountShift(0.5), clock);
        Map<String, List<Double>> psi = new LinkedHashMap<>();
        Map<String, List<Double>> rows = new LinkedHashMap<>();
        List<Double> minRows = new ArrayList<>();
        long sent = 1;
        for (int minute = 0; minute < MINUTES; minute++) {
          clock.set(start + minute * 60_000L + 1_000);
          PaymentsGenerator generator = minute >= SHIFT_AT ? shifted : plain;
          for (int i = 0; i < PER_MINUTE; i++) {
            GeneratedEvent event = generator.next();
            predict(stub, event.key(), payment(event));
          }
          sent += PER_MINUTE;
          long expected = sent;
          await()
              .atMost(Duration.ofSeconds(60))
              .until(
                  () ->
                      scrape(endpoints.metrics(), "streamscore_monitor_predictions_read_total")
                              .values()
                              .stream()
                              .mapToDouble(Double::doubleValue)
                              .sum()
                          >= expected);
          // The minute is over: its bucket closes, and the metrics are what a scrape then sees.
          clock.set(start + (minute + 1) * 60_000L + 1_000);
          Map<Map<String, String>, Double> psiNow =
              scrape(endpoints.metrics(), "streamscore_drift_psi");
          Map<Map<String, String>, Double> rowsNow =
              scrape(endpoints.metrics(), "streamscore_drift_rows");
          for (String column : List.of("amount", "items", "user_txn:txn_count_10m", "p1")) {
            psi.computeIfAbsent(column, c -> new ArrayList<>()).add(one(psiNow, column));
            rows.computeIfAbsent(column, c -> new ArrayList<>()).add(one(rowsNow, column));
          }
          minRows.add(
              scrape(endpoints.metrics(), "streamscore_drift_min_rows").values().iterator().next());
          LOG.info(
              "minute {}{}: PSI(5m) amount {}, items {}, txn_count_10m {}, p1 {} on {} rows ({} scores)",
              minute,
              minute >= SHIFT_AT ? " (shifted)" : "",
              fmt(psi.get("amount").get(minute)),
              fmt(psi.get("items").get(minute)),
              fmt(psi.get("user_txn:txn_count_10m").get(minute)),
              fmt(psi.get("p1").get(minute)),
              rows.get("amount").get(minute).longValue(),
              rows.get("p1").get(minute).longValue());
        }

        double min = minRows.get(0);
        assertThat(min).isEqualTo(1000);
        // Minute m's scrape covers minutes m-4..m: full windows from minute 4 on.
        int crossed = -1;
        for (int m = 0; m < MINUTES; m++) {
          boolean enough = rows.get("amount").get(m) >= min;
          if (m < SHIFT_AT && enough) {
            assertThat(psi.get("amount").get(m))
                .as("amount before the shift, minute " + m)
                .isLessThan(0.1);
          }
          if (m >= SHIFT_AT && crossed < 0 && enough && psi.get("amount").get(m) > 0.1) {
            crossed = m;
          }
          for (String quiet : List.of("items", "user_txn:txn_count_10m")) {
            if (rows.get(quiet).get(m) >= min) {
              assertThat(psi.get(quiet).get(m)).as(quiet + " at minute " + m).isLessThan(0.1);
            }
          }
        }
        assertThat(crossed)
            .as("the minute the amount's PSI crossed 0.1")
            .isBetween(SHIFT_AT, SHIFT_AT + 9);
        LOG.info(
            "the amount's 5-minute PSI crossed 0.1 at minute {}, {} after the shift",
            crossed,
            crossed - SHIFT_AT);

        replayThroughPromtool(psi, rows, minRows, crossed);
      } finally {
        scoring.shutdownNow();
        registryChannel.shutdownNow();
      }
    }
  }

  private static long predict(ScoringGrpc.ScoringBlockingStub stub, String user, double[] payment) {
    return stub.withDeadlineAfter(5, TimeUnit.SECONDS)
        .predict(
            PredictRequest.newBuilder()
                .setModel(ModelRef.newBuilder().setName("fraud"))
                .putEntityIds("user_id", user)
                .putRequestFeatures("amount", Value.newBuilder().setDoubleValue(payment[0]).build())
                .putRequestFeatures("items", Value.newBuilder().setDoubleValue(payment[1]).build())
                .build())
        .getScoresCount();
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%.3f", v);
  }

  /**
   * The recorded minutes as {@code promtool} input series (minute m of the drill is minute m of the
   * replay), with the shipped rules: the input-drift alert is quiet before the shift and fires for
   * the amount alone once it has been over the threshold for its 5 minutes.
   */
  private void replayThroughPromtool(
      Map<String, List<Double>> psi,
      Map<String, List<Double>> rows,
      List<Double> minRows,
      int crossed)
      throws Exception {
    StringBuilder series = new StringBuilder();
    for (String column : List.of("amount", "items", "user_txn:txn_count_10m")) {
      String labels =
          "{model=\"fraud\",version=\"1\",role=\"input\",column=\"" + column + "\",window=\"5m\"}";
      series.append(entry("streamscore_drift_psi" + labels, psi.get(column)));
      series.append(entry("streamscore_drift_rows" + labels, rows.get(column)));
    }
    series.append(entry("streamscore_drift_min_rows", minRows));
    // The rule holds from `crossed` (if the PSI stays over): it fires 5 minutes later.
    int firing = crossed + 5;
    for (int m = crossed; m <= firing; m++) {
      assertThat(psi.get("amount").get(m)).as("amount PSI at minute " + m).isGreaterThan(0.1);
    }
    String yaml =
        """
        rule_files:
          - %s
        evaluation_interval: 1m
        tests:
          - interval: 1m
            input_series:
        %s
            alert_rule_test:
              - eval_time: %dm
                alertname: StreamscoreInputDrift
                exp_alerts: []
              - eval_time: %dm
                alertname: StreamscoreInputDrift
                exp_alerts:
                  - exp_labels:
                      severity: warning
                      model: fraud
                      version: "1"
                      role: input
                      column: amount
                      window: 5m
                    exp_annotations:
                      summary: "fraud v1: input amount drifted (PSI %s)"
                      description: "Its last 5 minutes differ from the version's reference profile; see `streamscore models drift fraud`."
        """
            .formatted(
                EtlProcess.home().resolve("deploy/monitoring/alerts.yml"),
                series,
                SHIFT_AT - 1,
                firing,
                fmt(psi.get("amount").get(firing)));
    Path file = dir.resolve("drill_test.yml");
    Files.writeString(file, yaml);
    MonitoringRulesIT.Run run = MonitoringRulesIT.promtool(dir, "test", "rules", file.toString());
    assertThat(run.code()).as(yaml + "\n" + run.output()).isZero();
    assertThat(run.output()).contains("SUCCESS");
    Files.copy(
        file,
        Path.of("target", "drift-drill-promtool-test.yml"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  private static String entry(String series, List<Double> values) {
    StringBuilder v = new StringBuilder();
    for (double x : values) {
      v.append(v.length() == 0 ? "" : " ").append(Double.isNaN(x) ? "_" : Double.toString(x));
    }
    return "      - series: '" + series + "'\n        values: '" + v + "'\n";
  }
}
