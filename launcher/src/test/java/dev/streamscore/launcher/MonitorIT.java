package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.modelsync.RegistryServer;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.Score;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Drift end to end, with {@code streamscore monitor} as separate processes: a version registered
 * with a profile from a CSV, its predictions in the log, one input shifted by half a standard
 * deviation, and a monitor that is SIGKILLed and started again agreeing with one that never was.
 */
class MonitorIT {
  private static final String[] MONITOR_WINDOWS = {
    "--bucket", "PT10S", "--windows", "2m=PT2M,10m=PT10M", "--min-rows", "500"
  };
  private final Launcher launcher = new Launcher();
  @TempDir Path dir;

  @AfterEach
  void killLeftovers() {
    launcher.killAll();
  }

  /** x0 and x1 normal (x1 shifted by {@code shift} standard deviations), x2 a small count. */
  private static double[] row(Random random, double shift) {
    return new double[] {
      random.nextGaussian(), 20 + 4 * random.nextGaussian() + 4 * shift, random.nextInt(4)
    };
  }

  private static double p1(double[] x) {
    return 1 / (1 + Math.exp(-x[0]));
  }

  private Path referenceCsv() throws Exception {
    Random random = new Random(1);
    StringBuilder csv = new StringBuilder("p1,x0,x1,x2,p0\n"); // any column order
    for (int i = 0; i < 10_000; i++) {
      double[] x = row(random, 0);
      // One row in a hundred lacks x2: the default, counted as defaulted.
      String x2 = i % 100 == 0 ? "" : Double.toString(x[2]);
      csv.append(p1(x)).append(',').append(x[0]).append(',').append(x[1]).append(',');
      csv.append(x2).append(',').append(1 - p1(x)).append('\n');
    }
    return Files.writeString(dir.resolve("reference.csv"), csv);
  }

  private static void send(
      KafkaProducer<byte[], byte[]> producer,
      Random random,
      int n,
      long from,
      long to,
      double shift)
      throws Exception {
    var sent = new java.util.ArrayList<java.util.concurrent.Future<?>>();
    for (int i = 0; i < n; i++) {
      double[] x = row(random, shift);
      String id = "r" + random.nextLong();
      if (i % 2 == 0) {
        // Half get a label, JSON as a kcat user would send it: mostly right, sometimes not.
        boolean positive = random.nextDouble() < (p1(x) > 0.5 ? 0.8 : 0.2);
        sent.add(
            producer.send(
                new ProducerRecord<>(
                    "labels.payments",
                    ("{\"id\": \"" + id + "\", \"value\": " + (positive ? 1 : 0) + "}")
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8))));
      }
      Prediction.Builder p =
          Prediction.newBuilder()
              .setRequestId(id)
              .setModelName("fraud")
              .setModelVersion(1)
              .setPredictedAtMs(from + (to - from) * i / n)
              .addScores(Score.newBuilder().setName("p0").setValue(1 - p1(x)))
              .addScores(Score.newBuilder().setName("p1").setValue(p1(x)));
      for (double v : x) {
        p.addFeatures((float) v);
      }
      sent.add(producer.send(new ProducerRecord<>("predictions.fraud", p.build().toByteArray())));
    }
    for (var f : sent) {
      f.get(30, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  private static Map<String, Double> drift(String metricsUrl) throws Exception {
    HttpClient client = HttpClient.newHttpClient();
    String text =
        client
            .send(
                HttpRequest.newBuilder(URI.create(metricsUrl)).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    Map<String, Double> out = new TreeMap<>();
    for (PrometheusText.Sample s : PrometheusText.parse(text)) {
      // The windows' figures (drift and quality), not counters since the process started.
      if (s.name().startsWith("streamscore_drift_")
          || (s.name().startsWith("streamscore_quality_") && !s.name().endsWith("_total"))
          || s.name().equals("streamscore_monitor_caught_up")) {
        out.put(s.name() + new TreeMap<>(s.labels()), s.value());
      }
    }
    return out;
  }

  private static String fetchAll(String url) throws Exception {
    return HttpClient.newHttpClient()
        .send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString())
        .body()
        .lines()
        .filter(l -> l.startsWith("streamscore_monitor"))
        .toList()
        .toString();
  }

  private static Launcher.Running awaitReady(Launcher.Running monitor) {
    monitor.awaitLine("ready", Duration.ofSeconds(60));
    return monitor;
  }

  private Launcher.Running monitor(String kafka, String registry) throws Exception {
    String[] args = {"monitor", "--kafka", kafka, "--registry", registry, "--metrics-port", "0"};
    String[] all = new String[args.length + MONITOR_WINDOWS.length];
    System.arraycopy(args, 0, all, 0, args.length);
    System.arraycopy(MONITOR_WINDOWS, 0, all, args.length, MONITOR_WINDOWS.length);
    return awaitReady(launcher.start(all));
  }

  @Test
  void aShiftedInputDriftsAndAKilledMonitorReadsItsWindowsBack() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        RegistryServer registry =
            RegistryServer.start(
                ServerTransport.loopback(0),
                dir.resolve("registry"),
                Optional.empty(),
                Clock.systemUTC());
        KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(
                kafka.clientProperties(), new ByteArraySerializer(), new ByteArraySerializer())) {
      try (Admin admin = Admin.create(kafka.clientProperties())) {
        admin.createTopics(List.of(new NewTopic("predictions.fraud", 4, (short) 1))).all().get();
      }
      Path model = TestModels.logisticRegression(dir.resolve("m.onnx"), 3, 1);
      String[] register = {
        "models",
        "register",
        model.toString(),
        "--registry",
        registry.address(),
        "--name",
        "fraud",
        "--inputs",
        "x0,x1,x2",
        "--outputs",
        "p0,p1",
        "--profile",
        ""
      };
      Path bad = Files.writeString(dir.resolve("bad.csv"), "x0,x1,x2,p0,p1\n1,2,three,0.5,0.5\n");
      register[register.length - 1] = bad.toString();
      CliRun refused = CliRun.of(register);
      assertThat(refused.code()).isNotZero();
      assertThat(refused.err().strip())
          .isEqualTo("streamscore: " + bad + " line 2 column 'x2': 'three' is not a finite number")
          .doesNotContain("Exception");
      register[register.length - 1] = referenceCsv().toString();
      CliRun registered = CliRun.of(register);
      assertThat(registered.code()).as(registered.err()).isZero();

      // Eight minutes of predictions as the reference; the last minute with x1 shifted.
      long now = System.currentTimeMillis();
      Random random = new Random(2);
      send(producer, random, 4_000, now - 8 * 60_000, now - 60_000, 0);
      // Shifted by 0.7: PSI about 0.2 in the 2-minute window, clear of the 0.10 threshold
      // whichever second the window ends (0.5 gave 0.0998 in one CI run).
      send(producer, random, 1_000, now - 60_000, now, 0.7);

      Launcher.Running steady = monitor(kafka.bootstrapServers(), registry.address());
      Launcher.Running killed = monitor(kafka.bootstrapServers(), registry.address());
      String steadyUrl = steady.endpoint("metrics").orElseThrow();
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> drift(steadyUrl).getOrDefault("streamscore_monitor_caught_up{}", 0.0) == 1);

      CliRun table = CliRun.of("models", "drift", "fraud", "--metrics", steadyUrl);
      assertThat(table.code()).as(table.err()).isZero();
      assertThat(table.out())
          .as("%s", fetchAll(steadyUrl))
          .containsPattern("(?m)^1 +2m +input +x1 .*DRIFT$")
          .doesNotContainPattern("(?m)^1 +2m +input +x0 .*DRIFT$")
          .doesNotContainPattern("(?m)^1 +2m +input +x2 .*DRIFT$")
          .doesNotContainPattern("(?m) output .*DRIFT$");
      CliRun quality = CliRun.of("models", "quality", "fraud", "--metrics", steadyUrl);
      assertThat(quality.code()).as(quality.err()).isZero();
      // 2,500 of the first 5,000 predictions are labelled, all within the 10-minute window.
      assertThat(quality.out())
          .as("%s", fetchAll(steadyUrl))
          .containsPattern("(?m)^1 +10m +2500 +\\d+ +0\\.[6-9]\\d\\d +- +0\\.\\d{3} ");

      // SIGKILL one monitor; more predictions arrive while it is down; start it again.
      killed.process.destroyForcibly().waitFor();
      send(producer, random, 1_000, now, System.currentTimeMillis(), 0.5);
      Launcher.Running restarted = monitor(kafka.bootstrapServers(), registry.address());
      String restartedUrl = restarted.endpoint("metrics").orElseThrow();
      await()
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(
              () -> {
                // Both read to the end, and the windows did not move between the reads; a timeout
                // shows where the restarted monitor's figures differ.
                Map<String, Double> before = drift(steadyUrl);
                Map<String, Double> other = drift(restartedUrl);
                Map<String, Double> after = drift(steadyUrl);
                assertThat(after).as("the steady monitor between two reads").isEqualTo(before);
                assertThat(before.get("streamscore_monitor_caught_up{}")).isEqualTo(1.0);
                // Equal up to the order of a sum: a label read before its prediction adds the pair
                // to its bucket in another order (log loss 0.5456584746215315 against ...313).
                assertThat(other).as("the restarted monitor").hasSameSizeAs(before);
                for (Map.Entry<String, Double> e : before.entrySet()) {
                  assertThat(other.get(e.getKey()))
                      .as(e.getKey())
                      .isCloseTo(e.getValue(), org.assertj.core.data.Offset.offset(1e-12));
                }
              });
      assertThat(drift(restartedUrl).keySet())
          .anyMatch(k -> k.startsWith("streamscore_drift_psi{") && k.contains("column=x1"))
          .anyMatch(k -> k.startsWith("streamscore_quality_auc{") && k.contains("window=10m"));
    }
  }
}
