package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.modelsync.OnnxModel;
import dev.streamscore.modelsync.Profiles;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.v1.DataLineage;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.PartitionRange;
import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.PredictResponse;
import dev.streamscore.proto.v1.ReferenceProfile;
import dev.streamscore.proto.v1.ScoringGrpc;
import dev.streamscore.proto.v1.TrainingRun;
import dev.streamscore.proto.v1.Value;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * The web console in a real headless Chromium (Debian's {@code chromium} and {@code
 * chromium-driver}, through Selenium) against a running platform that scores under load with labels
 * arriving: every page loads in under a second, shows live numbers that change, a dead letter is
 * corrected and redriven from its page into an event, and the browser's console logs no error.
 * Screenshots go to {@code target/console-screenshots}.
 */
class ConsoleIT {
  private static final Path SHOTS = Path.of("target", "console-screenshots");
  @TempDir Path dir;

  /**
   * A spec whose profile is the model's on requests of users without history and amounts around 50:
   * the load's amounts, around 60, drift from it.
   */
  private static ModelVersionSpec spec(Path model) {
    Random random = new Random(1);
    float[][] rows = new float[2_000][];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = new float[] {0, 0, (float) (50 + 20 * random.nextGaussian())};
    }
    List<String> inputs = List.of("user_txn:txn_count_10m", "user_txn:amount_sum_1h", "amount");
    ModelVersionSpec.Builder spec =
        ModelVersionSpec.newBuilder()
            .setName("fraud")
            .setFormat(ModelFormat.MODEL_FORMAT_ONNX)
            .setPositiveOutput("p1")
            .putMetrics("auc", 0.8);
    ReferenceProfile.Builder profile = ReferenceProfile.newBuilder().setSource("console test");
    for (String input : inputs) {
      spec.addInputs(
          ModelInput.newBuilder()
              .setName(input)
              .setView(input.startsWith("user_txn:") ? "user_txn" : ""));
      int column = inputs.indexOf(input);
      double[] values = new double[rows.length];
      for (int i = 0; i < values.length; i++) {
        values[i] = rows[i][column];
      }
      profile.addInputs(Profiles.distribution(input, values, null));
    }
    try (OnnxModel onnx = OnnxModel.load(model)) {
      for (int o = 0; o < 2; o++) {
        spec.addOutputs(ModelOutput.newBuilder().setName("p" + o));
        double[] values = new double[rows.length];
        for (int i = 0; i < values.length; i++) {
          values[i] = onnx.predict(rows[i])[o];
        }
        profile.addOutputs(Profiles.distribution("p" + o, values, null));
      }
    }
    return spec.setProfile(profile).build();
  }

  /** A training run of {@code model} with one parameter, a held-out AUC and the baseline's. */
  private static TrainingRun run(Path model, String algorithm, String parameter, double auc) {
    return TrainingRun.newBuilder()
        .setModel("fraud")
        .setAlgorithm(algorithm)
        .putParameters(parameter, "4")
        .putMetrics("heldout_auc", auc)
        .putMetrics("heldout_auc_se", 0.01)
        .putMetrics("baseline_heldout_auc", 0.89)
        .setSpec(spec(model))
        .setLineage(
            DataLineage.newBuilder()
                .setTopic("events.payments")
                .addRanges(
                    PartitionRange.newBuilder().setPartition(0).setFromOffset(0).setToOffset(900))
                .setRows(900)
                .setLabelRate(0.01)
                .setLabel("payments.is_fraud"))
        .setStartedAtMs(System.currentTimeMillis() - 5_000)
        .setDurationMs(5_000)
        .build();
  }

  private static WebDriver chromium() {
    ChromeOptions options = new ChromeOptions();
    options.setBinary("/usr/bin/chromium");
    options.addArguments(
        "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000");
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logs);
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(new File("/usr/bin/chromedriver"))
            .usingAnyFreePort()
            .build();
    return new ChromeDriver(service, options);
  }

  /** Loads {@code url} afresh and returns how long the browser took to its load event, in ms. */
  private static double load(WebDriver browser, String url) {
    browser.get("about:blank");
    browser.get(url);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                ((Number)
                            ((JavascriptExecutor) browser)
                                .executeScript(
                                    "const n = performance.getEntriesByType('navigation')[0];"
                                        + " return n ? n.loadEventEnd : 0;"))
                        .doubleValue()
                    > 0);
    return ((Number)
            ((JavascriptExecutor) browser)
                .executeScript(
                    "const n = performance.getEntriesByType('navigation')[0];"
                        + " return n.loadEventEnd - n.startTime;"))
        .doubleValue();
  }

  private static void screenshot(WebDriver browser, String name) throws Exception {
    Files.createDirectories(SHOTS);
    File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
    Files.copy(shot.toPath(), SHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
  }

  /**
   * The element's text, read in one script: pages redraw their tables every few seconds, and an
   * element found in one call can be gone by the next.
   */
  private static String text(WebDriver browser, String css) {
    Object text =
        ((JavascriptExecutor) browser)
            .executeScript(
                "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
                css);
    if (text == null) {
      throw new AssertionError("no element " + css);
    }
    return ((String) text).strip();
  }

  /** Clicks the element in one script, as {@link #text} reads: tables are redrawn. */
  private static void click(WebDriver browser, String css) {
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                (Boolean)
                    ((JavascriptExecutor) browser)
                        .executeScript(
                            "const e = document.querySelector(arguments[0]);"
                                + " if (!e) return false; e.click(); return true;",
                            css));
  }

  private static java.util.Set<String> eventIds(EmbeddedKafka kafka) {
    java.util.Set<String> ids = new java.util.HashSet<>();
    dev.streamscore.kafka.TopicReader.readAll(
        kafka.clientProperties(),
        "events.payments",
        Duration.ofSeconds(30),
        r -> {
          try {
            ids.add(dev.streamscore.proto.v1.Event.parseFrom(r.value()).getEventId());
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
          }
        });
    return ids;
  }

  @Test
  void everyPageLoadsFastShowsLiveNumbersRedrivesADeadLetterAndLogsNoError() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults())) {
      try (Admin admin = Admin.create(kafka.clientProperties())) {
        // The label source exists from the start: the monitor holds predictions for labels.
        admin.createTopics(List.of(new NewTopic("labels.payments", 2, (short) 1))).all().get();
      }
      try (Platform platform =
              Platform.start(
                  PlatformConfig.anyPorts(Optional.of(kafka.bootstrapServers()), Optional.of(dir))
                      .withGrpcInputLog(true),
                  Clock.systemUTC());
          KafkaProducer<byte[], byte[]> labels =
              new KafkaProducer<>(
                  kafka.clientProperties(), new ByteArraySerializer(), new ByteArraySerializer())) {
        Endpoints endpoints = platform.endpoints();
        String console = endpoints.console().orElseThrow();
        ManagedChannel registryChannel =
            NettyChannelBuilder.forTarget(endpoints.registry()).usePlaintext().build();
        ManagedChannel scoring =
            NettyChannelBuilder.forTarget(endpoints.scoring().orElseThrow()).usePlaintext().build();
        AtomicLong scored = new AtomicLong();
        java.util.concurrent.ScheduledExecutorService load = null;
        WebDriver browser = null;
        try {
          RegistryClient registry = new RegistryClient(registryChannel, Optional.empty(), "test");
          Path model = TestModels.logisticRegression(dir.resolve("m.onnx"), 3, 1);
          registry.register(model, spec(model));
          registry.promote("fraud", "prod", 1);
          ScoringGrpc.ScoringBlockingStub stub = ScoringGrpc.newBlockingStub(scoring);
          // Bounded load: one request every 20 ms (at most 100,000) until the test ends, each
          // labelled; a scheduler paces it.
          Random random = new Random(2);
          AtomicLong sent = new AtomicLong();
          load = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
          load.scheduleAtFixedRate(
              () -> {
                long i = sent.getAndIncrement();
                if (i >= 100_000) {
                  return;
                }
                String id = "req-" + i;
                double amount = 60 + 20 * random.nextGaussian();
                try {
                  PredictResponse r =
                      stub.withDeadlineAfter(5, TimeUnit.SECONDS)
                          .predict(
                              PredictRequest.newBuilder()
                                  .setRequestId(id)
                                  .setModel(ModelRef.newBuilder().setName("fraud"))
                                  .putEntityIds("user_id", "u" + (i % 100))
                                  .putRequestFeatures(
                                      "amount", Value.newBuilder().setDoubleValue(amount).build())
                                  .build());
                  scored.incrementAndGet();
                  // Larger amounts are fraud more often; the test model need not know.
                  boolean positive =
                      random.nextDouble() < (amount > 60 ? 0.7 : 0.3) && r.getScoresCount() > 1;
                  labels.send(
                      new ProducerRecord<>(
                          "labels.payments",
                          ("{\"id\": \"" + id + "\", \"value\": " + (positive ? 1 : 0) + "}")
                              .getBytes(StandardCharsets.UTF_8)));
                } catch (StatusRuntimeException e) {
                  // not serving yet: the next request tries again
                }
              },
              0,
              20,
              TimeUnit.MILLISECONDS);
          await().atMost(Duration.ofSeconds(60)).until(() -> scored.get() > 200);

          browser = chromium();
          // Overview: live numbers by server-sent events, changing while the load runs.
          assertThat(load(browser, console + "/#overview")).isLessThan(1_000);
          WebDriver b = browser;
          await().atMost(Duration.ofSeconds(15)).until(() -> !text(b, "#total").equals("–"));
          String first = text(browser, "#total");
          await()
              .atMost(Duration.ofSeconds(15))
              .until(() -> !text(b, "#total").equals(first) && !text(b, "#rate").equals("–"));
          assertThat(browser.findElements(By.cssSelector("#stages tbody tr"))).isNotEmpty();
          screenshot(browser, "overview");

          // Models: versions, aliases, history and what the node serves.
          assertThat(load(browser, console + "/#models")).isLessThan(1_000);
          await()
              .atMost(Duration.ofSeconds(15))
              .until(() -> !b.findElements(By.cssSelector("[data-model=fraud]")).isEmpty());
          String models = text(browser, "#models");
          assertThat(models).contains("v1", "prod", "console test", "auc 0.800", "SERVING");
          screenshot(browser, "models");

          // Drift: a row per column and window, histograms beside.
          assertThat(load(browser, console + "/#drift")).isLessThan(1_000);
          await()
              .atMost(Duration.ofSeconds(15))
              .until(() -> b.findElements(By.cssSelector("#drift tbody tr")).size() == 5);
          assertThat(text(browser, "#drift")).contains("amount", "user_txn:txn_count_10m", "p1");
          // The inputs are counted too: the node logs its input vectors.
          assertThat(text(browser, "#drift tbody tr:nth-child(3) td:nth-child(4)"))
              .isNotEqualTo("0");
          assertThat(browser.findElements(By.cssSelector("#histograms svg"))).hasSize(5);
          screenshot(browser, "drift");

          // Quality: labelled predictions joined live, numbers growing.
          assertThat(load(browser, console + "/#quality")).isLessThan(1_000);
          await()
              .atMost(Duration.ofSeconds(30))
              .until(() -> text(b, "#quality").matches("(?s).*v1\\s+5m\\s+\\d{2,}.*"));
          String labelled = text(browser, "#quality tbody tr:first-child td:nth-child(3)");
          await()
              .atMost(Duration.ofSeconds(20))
              .until(
                  () -> !text(b, "#quality tbody tr:first-child td:nth-child(3)").equals(labelled));
          screenshot(browser, "quality");

          // Runs: two recorded runs listed, one registered as a version, both compared.
          TrainingRun linear =
              registry.recordRun(model, run(model, "logistic-regression", "learning_rate", 0.87));
          TrainingRun fm =
              registry.recordRun(model, run(model, "factorization-machine", "factors", 0.91));
          registry.registerFromRun(linear.getId());
          assertThat(load(browser, console + "/#runs")).isLessThan(1_000);
          await()
              .atMost(Duration.ofSeconds(15))
              .until(() -> b.findElements(By.cssSelector("#runs tbody tr")).size() == 2);
          // The held-out AUC with its 95% interval (1.96 standard errors), then the baseline's.
          assertThat(text(browser, "#runs tbody tr:first-child"))
              .contains(fm.getId(), "0.9100 ± 0.020", "0.8900");
          assertThat(text(browser, "#runs tbody tr:last-child"))
              .contains(linear.getId(), "logistic-regression", "0.8700", "v2");
          assertThat(browser.findElement(By.id("runs-compare")).isDisplayed()).isFalse();
          click(browser, "[data-run=" + linear.getId() + "]");
          click(browser, "[data-run=" + fm.getId() + "]");
          await()
              .atMost(Duration.ofSeconds(15))
              .until(() -> b.findElement(By.id("runs-compare")).isDisplayed());
          String comparison = text(browser, "#runs-comparison");
          assertThat(comparison)
              .contains(linear.getId(), fm.getId(), "factors", "learning_rate", "heldout_auc");
          // The comparison stays through the page's refresh.
          await()
              .during(Duration.ofSeconds(6))
              .atMost(Duration.ofSeconds(8))
              .until(() -> b.findElement(By.id("runs-compare")).isDisplayed());
          screenshot(browser, "runs");

          // Dead letters: a payment without merchant_id is browsed, corrected and redriven.
          String broken =
              "{\"user_id\":\"u1\",\"txn_id\":\"dl-1\",\"ts\":%d,\"amount\":12.5,\"merchant\":\"m1\"}"
                  .formatted(System.currentTimeMillis());
          labels.send(
              new ProducerRecord<>("raw.payments", broken.getBytes(StandardCharsets.UTF_8)));
          labels.flush();
          assertThat(load(browser, console + "/#dead-letters")).isLessThan(1_000);
          await()
              .atMost(Duration.ofSeconds(30))
              .until(() -> text(b, "#dl-counts").contains("missing_field"));
          click(browser, "#dl-counts button[data-reason=missing_field]");
          await()
              .atMost(Duration.ofSeconds(15))
              .until(() -> text(b, "#dl-samples").contains("merchant_id"));
          click(browser, "#dl-samples tbody tr:first-child button");
          var value = browser.findElement(By.id("dl-value"));
          assertThat(value.getDomProperty("value")).isEqualTo(broken);
          value.clear();
          value.sendKeys(broken.replace("\"merchant\"", "\"merchant_id\""));
          browser.findElement(By.id("dl-redrive-corrected")).click();
          await()
              .atMost(Duration.ofSeconds(15))
              .until(() -> text(b, "#dl-result").startsWith("sent to raw.payments"));
          await().atMost(Duration.ofSeconds(60)).until(() -> eventIds(kafka).contains("dl-1"));
          await()
              .atMost(Duration.ofSeconds(15))
              .until(() -> text(b, "#dl-redrives").contains("corrected"));
          assertThat(browser.findElement(By.id("dl-redrive-corrected")).isEnabled()).isFalse();
          screenshot(browser, "dead-letters");

          List<LogEntry> errors =
              browser.manage().logs().get(LogType.BROWSER).getAll().stream()
                  .filter(e -> e.getLevel().intValue() >= Level.WARNING.intValue())
                  .toList();
          assertThat(errors).as("the browser's console").isEmpty();

          // An API call for a model name that cannot be one is a 400 naming the parameter.
          var response =
              java.net.http.HttpClient.newHttpClient()
                  .send(
                      java.net.http.HttpRequest.newBuilder(
                              java.net.URI.create(console + "/api/drift?model=%3Cscript%3E"))
                          .build(),
                      java.net.http.HttpResponse.BodyHandlers.ofString());
          assertThat(response.statusCode()).isEqualTo(400);
          assertThat(response.body())
              .contains("model must be a model name")
              .doesNotContain("<script>");
          // A redrive another site's page could send (no console header, or its own origin).
          for (var forged :
              List.of(
                  java.net.http.HttpRequest.newBuilder(
                      java.net.URI.create(
                          console + "/api/dead-letters/redrive?partition=0&offset=0&mode=as-is")),
                  java.net.http.HttpRequest.newBuilder(
                          java.net.URI.create(
                              console
                                  + "/api/dead-letters/redrive?partition=0&offset=0&mode=as-is"))
                      .header("X-Streamscore-Action", "redrive")
                      .header("Origin", "http://evil.example"))) {
            var refused =
                java.net.http.HttpClient.newHttpClient()
                    .send(
                        forged.POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode()).isEqualTo(403);
          }
        } finally {
          if (load != null) {
            load.shutdownNow();
            load.awaitTermination(10, TimeUnit.SECONDS);
          }
          if (browser != null) {
            browser.quit();
          }
          scoring.shutdownNow();
          registryChannel.shutdownNow();
        }
      }
    }
  }
}
