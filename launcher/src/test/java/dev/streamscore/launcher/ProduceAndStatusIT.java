package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.kafka.TopicReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code streamscore produce} and {@code status} against a running platform, in process. */
class ProduceAndStatusIT {
  private static Platform platform;

  @BeforeAll
  static void startPlatform() {
    platform =
        Platform.start(
            PlatformConfig.anyPorts(Optional.empty(), Optional.empty()), Clock.systemUTC());
  }

  @AfterAll
  static void stopPlatform() {
    platform.close();
  }

  private static CliRun run(String... args) {
    return CliRun.of(args);
  }

  private static String kafka() {
    return platform.endpoints().kafka();
  }

  private static long records(String topic) {
    AtomicLong n = new AtomicLong();
    TopicReader.readAll(
        Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka()),
        topic,
        Duration.ofSeconds(30),
        r -> n.incrementAndGet());
    return n.get();
  }

  private static long number(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    assertThat(m.find()).as(regex + " in " + text).isTrue();
    return Long.parseLong(m.group(1).replace(",", ""));
  }

  @Test
  void producesAGeneratedStreamOverGrpcAndTheGatewayRejectsExactlyTheInvalidOnes() {
    CliRun run =
        run(
            "produce",
            "--to",
            "grpc",
            "--ingest",
            platform.endpoints().ingest(),
            "-n",
            "3000",
            "--seed",
            "5",
            "--invalid-rate",
            "0.1");

    assertThat(run.code()).as(run.err()).isZero();
    long invalid = number(run.out(), "valid \\(.*\\), ([\\d,]+) invalid");
    assertThat(invalid).isBetween(200L, 400L);
    assertThat(number(run.out(), "gateway: ([\\d,]+) accepted")).isEqualTo(3000 - invalid);
    assertThat(number(run.out(), "accepted into Kafka, ([\\d,]+) rejected")).isEqualTo(invalid);
    assertThat(run.out()).contains("produced 3,000 events to raw.payments over gRPC");

    // The validator sees the gateway's valid events; status reports both stages.
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                run("status", "--metrics", platform.endpoints().metrics())
                    .out()
                    .contains("validator"));
    CliRun status = run("status", "--metrics", platform.endpoints().metrics());
    assertThat(status.code()).isZero();
    assertThat(status.out())
        .containsPattern("payments +gateway +\\d+ +\\d+ +\\d+ +0")
        .contains("rejected: malformed")
        .contains("gateway: 0 calls active, 0 events in flight, 0 streams stalled");
  }

  @Test
  void producesOverKafkaAndReplaysAFileLineByLine(@TempDir Path dir) throws Exception {
    long before = records("raw.payments");
    CliRun generated = run("produce", "--kafka", kafka(), "-n", "2000", "--seed", "9");
    assertThat(generated.code()).as(generated.err()).isZero();
    assertThat(generated.out())
        .contains("produced 2,000 events to raw.payments over Kafka")
        .contains("kafka: 2,000 acked (acks=all), 0 failed");

    Path file = dir.resolve("events.jsonl");
    Files.write(
        file,
        List.of(
            "{\"user_id\":\"u1\",\"txn_id\":\"f1\",\"ts\":1764000000000,\"amount\":1.5,\"merchant_id\":\"m1\"}",
            "",
            "{\"user_id\":\"u2\",\"txn_id\":\"f2\",\"ts\":1764000000001,\"amount\":2.5,\"merchant_id\":\"m1\"}",
            "not json"));
    CliRun replay = run("produce", "--kafka", kafka(), "--file", file.toString());
    assertThat(replay.code()).as(replay.err()).isZero();
    assertThat(replay.out()).contains("produced 3 events").contains("from " + file);
    assertThat(records("raw.payments") - before).isEqualTo(2003);
  }

  @Test
  void failsInOneLineForAnUndeclaredSourceOrAPlatformThatIsNotThere(@TempDir Path dir)
      throws Exception {
    Path file = Files.writeString(dir.resolve("r.jsonl"), "{}\n");
    CliRun unknown =
        run("produce", "--kafka", kafka(), "--source", "refunds", "--file", file.toString());
    assertThat(unknown.code()).isEqualTo(1);
    assertThat(unknown.err().strip())
        .isEqualTo(
            "streamscore: topic raw.refunds does not exist at "
                + kafka()
                + "; is the source declared in the spec 'streamscore up' runs with?");

    CliRun generatorOnly = run("produce", "--source", "refunds");
    assertThat(generatorOnly.code()).isEqualTo(1);
    assertThat(generatorOnly.err()).contains("use --file to send events of source 'refunds'");

    CliRun noPlatform = run("status", "--metrics", "http://127.0.0.1:1/metrics");
    assertThat(noPlatform.code()).isEqualTo(1);
    assertThat(noPlatform.err().strip())
        .startsWith("streamscore: no platform answers at http://127.0.0.1:1/metrics");
  }
}
