package dev.streamscore.scoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.FeatureProcessor;
import dev.streamscore.etl.InMemoryEntityState;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.etl.SourcePosition;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.Freshness;
import dev.streamscore.proto.v1.LogPosition;
import dev.streamscore.proto.v1.MissingPolicy;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.PredictResponse;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.ScoringGrpc;
import dev.streamscore.proto.v1.Value;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * gRPC predictions against a replay of the log at the position their stored features stood at: rows
 * written by the core with their source positions into a real RocksDB store, scored through a real
 * server and ONNX model, then checked.
 */
class OnlineConsistencyTest {
  private static final String TOPIC = "events.payments";
  private static final long APPENDED = Node.T0 + 3_600_000;

  @TempDir Path dir;

  @Test
  void predictionsCarryTheirLogPositionAndMatchAReplayThereUnlessTilesStoodApart()
      throws Exception {
    List<Event> log = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      log.add(payment(i, "u" + (i % 3 + 1), Node.T0 - 300_000 + i * 5_000L, 10.0 + i));
    }
    log.add(payment(60, "u1", Node.T0 - 250_000, 500)); // out of order: into an older tile
    log.add(payment(61, "u1", Node.T0 - 1_000, 7));
    FeatureProcessor processor = FeatureProcessor.of(Node.SPEC, "payments", "test");
    Map<String, InMemoryEntityState> states = new HashMap<>();
    List<List<FeatureRow>> rowsOf = new ArrayList<>();
    for (int i = 0; i < log.size(); i++) {
      Event e = log.get(i);
      rowsOf.add(
          processor
              .process(
                  states.computeIfAbsent(e.getEntityId(), k -> new InMemoryEntityState()),
                  e,
                  APPENDED,
                  new SourcePosition(0, i, APPENDED + i))
              .rows());
    }

    List<Prediction> logged = new CopyOnWriteArrayList<>();
    PrometheusRegistry metrics = new PrometheusRegistry();
    Freshness behind = Freshness.newBuilder().setBehindRecords(2).setBehindMs(1_500).build();
    try (Node node = new Node(dir)) {
      ModelVersionSpec spec = Node.spec(MissingPolicy.MISSING_POLICY_USE_DEFAULT);
      node.client.register(TestModels.logisticRegression(dir.resolve("v1.onnx"), 3, 1), spec);
      node.awaitServing(node.client.promote("fraud", "prod", 1).getRevision());
      Scorer scorer =
          new Scorer(
              node.store,
              Node.SPEC,
              node.agent,
              "node-1",
              (topic, entity) -> topic.equals(TOPIC) ? Optional.of(behind) : Optional.empty());
      String name = InProcessServerBuilder.generateName();
      try (ScoringServer server =
          ScoringServer.start(
              ServerTransport.of(InProcessServerBuilder.forName(name), name),
              ScoringServer.Config.defaults("node-1").withInputLog(ScoringServer.InputLog.ON),
              new ScoringServer.Scoring(
                  scorer, logged::add, () -> ScoringServer.Readiness.READY, Map::of, Node.CLOCK),
              metrics)) {
        ManagedChannel channel = InProcessChannelBuilder.forName(server.address()).build();
        try {
          var stub = ScoringGrpc.newBlockingStub(channel);
          write(node, rowsOf, 0, 30);
          PredictResponse first = predict(stub, "u1");
          predict(stub, "u2");
          predict(stub, "u3");
          write(node, rowsOf, 30, 60);
          predict(stub, "u1");
          predict(stub, "u2");
          predict(stub, "u3");
          // The out-of-order event's row (offset 60, an older tile) held back, the next applied.
          write(node, rowsOf, 61, 62);
          predict(stub, "u1");
          predict(stub, "u2");

          assertThat(first.getFreshness()).isEqualTo(behind);
        } finally {
          channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> logged.size() == 8);

      // u1's events before offset 30 are 0, 3, ..., 27.
      assertThat(logged.get(0).getFeaturePositionsList())
          .containsExactly(
              LogPosition.newBuilder().setTopic(TOPIC).setPartition(0).setNextOffset(28).build());
      assertThat(logged.get(6).getFeaturePositions(0).getNextOffset()).isEqualTo(62);
      assertThat(logged).allSatisfy(p -> assertThat(p.getFreshness()).isEqualTo(behind));

      List<Consistency.Logged> events = new ArrayList<>();
      for (int i = 0; i < log.size(); i++) {
        events.add(new Consistency.Logged(new RecordOrigin(TOPIC, 0, i), log.get(i)));
      }
      OnlineConsistency.Report report =
          new OnlineConsistency(Node.SPEC, "payments").check(events, Map.of(1L, spec), logged);

      assertThat(report.compared()).isEqualTo(8);
      assertThat(report.identical()).isEqualTo(7);
      // u1 at offset 62 counted one event fewer in its hour than the log before 62 holds.
      assertThat(report.causes()).containsOnlyKeys(Consistency.Cause.TILES_APART);
      assertThat(report.inputs())
          .filteredOn(s -> s.input().equals("user_txn:txn_count_1h"))
          .singleElement()
          .satisfies(
              s -> {
                assertThat(s.mismatches()).isEqualTo(1);
                assertThat(s.medianDifference()).isEqualTo(-1.0);
              });
      assertThat(report.summary())
          .startsWith("7 of 8 gRPC predictions identical to a replay of the log");
    }
    HistogramSnapshot histogram =
        (HistogramSnapshot)
            metrics.scrape().stream()
                .filter(
                    m ->
                        m.getMetadata()
                            .getName()
                            .equals("streamscore_scoring_features_behind_seconds"))
                .findFirst()
                .orElseThrow();
    assertThat(histogram.getDataPoints().get(0).getCount()).isEqualTo(8);
  }

  private static void write(Node node, List<List<FeatureRow>> rowsOf, int from, int to) {
    List<FeatureRow> rows = new ArrayList<>();
    for (int i = from; i < to; i++) {
      rows.addAll(rowsOf.get(i));
    }
    node.store.write(rows, Map.of());
  }

  private static PredictResponse predict(ScoringGrpc.ScoringBlockingStub stub, String user) {
    return stub.withDeadlineAfter(10, TimeUnit.SECONDS)
        .predict(
            PredictRequest.newBuilder()
                .setModel(ModelRef.newBuilder().setName("fraud"))
                .putEntityIds("user_id", user)
                .putRequestFeatures("amount", Value.newBuilder().setDoubleValue(12).build())
                .build());
  }

  private static Event payment(int n, String user, long timeMs, double amount) {
    return Event.newBuilder()
        .setSource("payments")
        .setEntityId(user)
        .setEventId("e" + n)
        .setEventTimeMs(timeMs)
        .setIngestTimeMs(APPENDED)
        .putFields("amount", Value.newBuilder().setDoubleValue(amount).build())
        .putFields("merchant_id", Value.newBuilder().setStringValue("m" + n % 7).build())
        .putFields("country", Value.newBuilder().setStringValue("US").build())
        .build();
  }
}
