package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.TopicNames;
import dev.streamscore.kafka.TopicReader;
import dev.streamscore.modelsync.ModelAlias;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.PredictResponse;
import dev.streamscore.proto.v1.ScoringGrpc;
import dev.streamscore.proto.v1.Value;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code streamscore consistency} against a running platform: every stream prediction is compared
 * with the training row of its event.
 */
class ConsistencyCommandIT {
  private static String scrape(Platform platform) throws Exception {
    return java.net.http.HttpClient.newHttpClient()
        .send(
            java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(platform.endpoints().metrics()))
                .build(),
            java.net.http.HttpResponse.BodyHandlers.ofString())
        .body();
  }

  @Test
  void comparesEveryStreamPredictionWithItsEventsTrainingRow(@TempDir Path dir) throws Exception {
    PlatformConfig config =
        PlatformConfig.anyPorts(Optional.empty(), Optional.of(dir.resolve("data")))
            .withStreamScoring(new ModelAlias("fraud", "prod"))
            .withGrpcInputLog(true);
    ModelVersionSpec spec =
        ModelVersionSpec.newBuilder()
            .setName("fraud")
            .setFormat(ModelFormat.MODEL_FORMAT_ONNX)
            .addInputs(ModelInput.newBuilder().setName("user_txn:txn_count_1h").setView("user_txn"))
            .addInputs(ModelInput.newBuilder().setName("amount"))
            .addOutputs(ModelOutput.newBuilder().setName("p0"))
            .addOutputs(ModelOutput.newBuilder().setName("p1"))
            .build();
    try (Platform platform = Platform.start(config, Clock.systemUTC())) {
      String kafka = platform.endpoints().kafka();
      String registry = platform.endpoints().registry();
      ManagedChannel channel = NettyChannelBuilder.forTarget(registry).usePlaintext().build();
      try {
        RegistryClient client = new RegistryClient(channel, Optional.empty(), "ci");
        client.register(TestModels.logisticRegression(dir.resolve("m.onnx"), 2, 1), spec);
        client.promote("fraud", "prod", 1);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      CliRun produced =
          CliRun.of(
              "produce", "--kafka", kafka, "-n", "1500", "--seed", "3", "--invalid-rate", "0");
      assertThat(produced.code()).as(produced.err()).isZero();
      Matcher generated = Pattern.compile("generated: ([\\d,]+) valid").matcher(produced.out());
      assertThat(generated.find()).as(produced.out()).isTrue();
      long valid = Long.parseLong(generated.group(1).replace(",", ""));
      // Every valid event is scored once: then the prediction log is complete.
      await()
          .atMost(Duration.ofMinutes(2))
          .until(
              () -> {
                var c = platform.node().streamScoringCounts();
                return c.scored() + c.unscorable() == valid;
              });
      long scored = platform.node().streamScoringCounts().scored();
      assertThat(scored).isPositive();
      // Counted when scored; readable once its transaction commits (within a commit interval).
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  TopicReader.readAll(
                          Map.of("bootstrap.servers", kafka),
                          TopicNames.predictions("fraud"),
                          Duration.ofSeconds(30),
                          r -> {})
                      == scored);

      // gRPC predictions, each logged with its input vector and its log position.
      ManagedChannel scoring =
          NettyChannelBuilder.forTarget(platform.endpoints().scoring().orElseThrow())
              .usePlaintext()
              .build();
      int asked = 25;
      try {
        var stub = ScoringGrpc.newBlockingStub(scoring);
        for (int u = 0; u < asked; u++) {
          PredictResponse answer =
              stub.withDeadlineAfter(10, TimeUnit.SECONDS)
                  .predict(
                      PredictRequest.newBuilder()
                          .setModel(ModelRef.newBuilder().setName("fraud"))
                          .putEntityIds("user_id", "u" + u)
                          .putRequestFeatures(
                              "amount", Value.newBuilder().setDoubleValue(10 + u).build())
                          .build());
          // No ETL in this platform: the store is behind by every event of the partition.
          assertThat(answer.getFreshness().getBehindRecords()).isPositive();
        }
      } finally {
        scoring.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  TopicReader.readAll(
                          Map.of("bootstrap.servers", kafka),
                          TopicNames.predictions("fraud"),
                          Duration.ofSeconds(30),
                          r -> {})
                      == scored + asked);

      CliRun check =
          CliRun.of("consistency", "--model", "fraud", "--kafka", kafka, "--registry", registry);

      assertThat(check.code()).as(check.err()).isZero();
      Matcher m =
          Pattern.compile(
                  "fraud: ([\\d,]+) of ([\\d,]+) stream predictions identical to their training rows")
              .matcher(check.out());
      assertThat(m.find()).as(check.out()).isTrue();
      assertThat(Long.parseLong(m.group(2).replace(",", ""))).isEqualTo(scored);
      assertThat(check.out())
          .contains("user_txn:txn_count_1h")
          .contains("amount")
          .doesNotContain("not compared")
          .contains("scores: " + m.group(2) + " of " + m.group(2) + " recomputed");
      assertThat(m.group(1)).isEqualTo(m.group(2));
      assertThat(check.out())
          .contains(
              "fraud: "
                  + asked
                  + " of "
                  + asked
                  + " gRPC predictions identical to a replay of the log at their position");

      // The live check beside stream scoring, one entity in 16, finds the same.
      Pattern sampled =
          Pattern.compile("streamscore_consistency_sampled_total\\{model=\"fraud\"\\} ([\\d.E]+)");
      Pattern identical =
          Pattern.compile(
              "streamscore_consistency_identical_total\\{model=\"fraud\"\\} ([\\d.E]+)");
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                Matcher s = sampled.matcher(scrape(platform));
                return s.find() && Double.parseDouble(s.group(1)) > 0;
              });
      String metrics = scrape(platform);
      Matcher s = sampled.matcher(metrics);
      Matcher i = identical.matcher(metrics);
      assertThat(s.find()).isTrue();
      assertThat(i.find()).as(metrics).isTrue();
      assertThat(Double.parseDouble(i.group(1))).isEqualTo(Double.parseDouble(s.group(1)));
    }
  }
}
