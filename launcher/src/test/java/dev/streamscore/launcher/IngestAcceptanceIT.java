package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.ingest.IngestCounters;
import dev.streamscore.ingest.generator.GeneratedEvent;
import dev.streamscore.ingest.generator.GeneratorConfig;
import dev.streamscore.ingest.generator.PaymentsGenerator;
import dev.streamscore.kafka.TopicReader;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.RejectReason;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issue "Ingest", acceptance: 100,000 JSON events produced with kcat (librdkafka, an independent
 * client), 10% broken in a variety of ways, give exactly 90,000 events and 10,000 dead letters with
 * the right reasons, although the platform is SIGKILLed while it validates and started again.
 */
class IngestAcceptanceIT {
  private static final Logger LOG = LoggerFactory.getLogger(IngestAcceptanceIT.class);
  private static final int TOTAL = 100_000;
  private static final int BROKEN = 10_000;

  /** Of the broken ones, valid-looking payments sent to a source the spec does not declare. */
  private static final int UNKNOWN_SOURCE = 1_000;

  private final Launcher launcher = new Launcher();

  @BeforeAll
  static void requireTools() {
    assertThat(Launcher.JAR).as("the packaged launcher").isRegularFile();
    StreamscoreUpIT.Tools.require("kcat");
  }

  @AfterEach
  void killLeftovers() {
    launcher.killAll();
  }

  @Test
  void everyKcatRecordBecomesExactlyOneEventOrDeadLetterAcrossASigkill(@TempDir Path dataDir)
      throws Exception {
    // Two halves, each: payments lines for raw.payments and lines for the undeclared raw.refunds.
    PaymentsGenerator generator =
        new PaymentsGenerator(
            GeneratorConfig.defaults(42).withRates(0, 0, 0.05), InstantSource.system());
    RejectReason[] kinds = {
      RejectReason.REJECT_REASON_MALFORMED,
      RejectReason.REJECT_REASON_MISSING_FIELD,
      RejectReason.REJECT_REASON_WRONG_TYPE,
      RejectReason.REJECT_REASON_OUT_OF_RANGE
    };
    Map<String, Long> expectedReasons = new TreeMap<>();
    List<StringBuilder> payments = List.of(new StringBuilder(), new StringBuilder());
    List<StringBuilder> refunds = List.of(new StringBuilder(), new StringBuilder());
    int brokenPayments = 0;
    for (int i = 0; i < TOTAL - UNKNOWN_SOURCE; i++) {
      int half = i < (TOTAL - UNKNOWN_SOURCE) / 2 ? 0 : 1;
      GeneratedEvent event;
      // Every 10th is broken, cycling through the ways it can be, until enough are.
      if (i % 10 == 0 && brokenPayments < BROKEN - UNKNOWN_SOURCE) {
        event = generator.invalid(kinds[brokenPayments++ % kinds.length]);
        expectedReasons.merge(IngestCounters.reasonName(event.expectedReject()), 1L, Long::sum);
      } else {
        event = generator.valid();
      }
      payments.get(half).append(new String(event.json(), StandardCharsets.UTF_8)).append('\n');
    }
    for (int i = 0; i < UNKNOWN_SOURCE; i++) {
      refunds
          .get(i % 2)
          .append(new String(generator.valid().json(), StandardCharsets.UTF_8))
          .append('\n');
    }
    expectedReasons.put("unknown_source", (long) UNKNOWN_SOURCE);
    assertThat(expectedReasons.values().stream().mapToLong(Long::longValue).sum())
        .isEqualTo(BROKEN);

    int port = Launcher.freePort();
    String bootstrap = "127.0.0.1:" + port;
    Launcher.Running first = launcher.up(port, dataDir, "--engine", "none");
    first.awaitLine("ready", Duration.ofSeconds(60));
    String metrics = first.endpoint("metrics").orElseThrow();
    kcat(bootstrap, "raw.payments", payments.get(0));
    kcat(bootstrap, "raw.refunds", refunds.get(0));
    // Kill it while it validates: some records are through, not all.
    AtomicLong read = new AtomicLong();
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> read.updateAndGet(n -> validatorReceived(metrics)) > 0);
    first.process.destroyForcibly(); // SIGKILL: no shutdown hook, no commit, no leave-group
    long readBeforeKill = read.get();
    assertThat(first.awaitExit(Duration.ofSeconds(30))).isEqualTo(137);
    int firstHalf = (TOTAL - UNKNOWN_SOURCE) / 2 + UNKNOWN_SOURCE / 2;
    LOG.info(
        "SIGKILLed the platform when its validator had read about {} of {} records",
        readBeforeKill,
        firstHalf);
    assertThat(readBeforeKill).as("killed in the middle of validation").isLessThan(firstHalf);

    long restarting = System.nanoTime();
    Launcher.Running second = launcher.up(port, dataDir, "--engine", "none");
    second.awaitLine("ready", Duration.ofSeconds(180));
    LOG.info(
        "restarted after the SIGKILL: ready in {} ms",
        java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restarting));
    kcat(bootstrap, "raw.payments", payments.get(1));
    kcat(bootstrap, "raw.refunds", refunds.get(1));

    Map<String, Object> client =
        Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrap,
            ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG,
            30_000);
    try {
      await()
          .atMost(Duration.ofMinutes(3))
          .pollInterval(Duration.ofSeconds(1))
          .until(() -> count(client, "events.payments") + count(client, "events.dlq") >= TOTAL);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("not every record validated; stderr: " + second.stderr(), e);
    }

    // Exactly one outcome per raw record: no raw offset twice, none missing.
    Set<String> rawOffsets = new HashSet<>();
    List<String> duplicates = new ArrayList<>();
    long events =
        TopicReader.readAll(
            client,
            "events.payments",
            Duration.ofMinutes(1),
            r -> {
              Event e = parse(Event::parseFrom, r.value());
              assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo(e.getEntityId());
              String at = e.getRawTopic() + "/" + e.getRawPartition() + "/" + e.getRawOffset();
              if (!rawOffsets.add(at)) {
                duplicates.add(at);
              }
            });
    Map<String, Long> reasons = new TreeMap<>();
    long dead =
        TopicReader.readAll(
            client,
            "events.dlq",
            Duration.ofMinutes(1),
            r -> {
              DeadLetter d = parse(DeadLetter::parseFrom, r.value());
              reasons.merge(IngestCounters.reasonName(d.getReason()), 1L, Long::sum);
              assertThat(d.getStage()).isEqualTo("validator");
              String at =
                  d.getSourceTopic() + "/" + d.getSourcePartition() + "/" + d.getSourceOffset();
              if (!rawOffsets.add(at)) {
                duplicates.add(at);
              }
            });
    assertThat(duplicates).as("raw records with two outcomes").isEmpty();
    assertThat(events).isEqualTo(TOTAL - BROKEN);
    assertThat(dead).isEqualTo(BROKEN);
    assertThat(reasons).isEqualTo(expectedReasons);
    long raw = count(client, "raw.payments") + count(client, "raw.refunds");
    assertThat(raw).as("kcat's records, each once").isEqualTo(TOTAL);
  }

  private static long count(Map<String, Object> client, String topic) {
    AtomicLong n = new AtomicLong();
    TopicReader.readAll(client, topic, Duration.ofMinutes(1), r -> n.incrementAndGet());
    return n.get();
  }

  private static void kcat(String bootstrap, String topic, CharSequence lines) throws Exception {
    StreamscoreUpIT.Tools.run(
        lines.toString(), "kcat", "-P", "-b", bootstrap, "-t", topic, "-X", "acks=all");
  }

  private static long validatorReceived(String metricsUrl) {
    try {
      String text =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create(metricsUrl)).build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      return PrometheusText.parse(text).stream()
          .filter(
              s ->
                  s.name().equals("streamscore_ingest_received_total")
                      && "validator".equals(s.labels().get("stage")))
          .mapToLong(s -> (long) s.value())
          .sum();
    } catch (java.io.IOException e) {
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    }
  }

  private interface Parser<T> {
    T parse(byte[] bytes) throws com.google.protobuf.InvalidProtocolBufferException;
  }

  private static <T> T parse(Parser<T> parser, byte[] bytes) {
    try {
      return parser.parse(bytes);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }
}
