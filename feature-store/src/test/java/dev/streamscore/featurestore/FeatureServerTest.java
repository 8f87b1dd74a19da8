package dev.streamscore.featurestore;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.GoldenStream;
import dev.streamscore.etl.Replay;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.v1.EntityStatus;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureDescriptor;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.FeatureServiceGrpc;
import dev.streamscore.proto.v1.GetOnlineFeaturesRequest;
import dev.streamscore.proto.v1.GetOnlineFeaturesResponse;
import dev.streamscore.proto.v1.ListFeaturesRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The FeatureService over a real store, called through a loopback gRPC channel. */
class FeatureServerTest {
  /** The service runs on gRPC's in-process transport: every call goes through the real stack. */
  private final String name = InProcessServerBuilder.generateName();

  private static final long START = 1_764_000_000_000L;
  private static final long NOW = START + 3_600_000L;
  private static final FeatureSpec SPEC = GoldenStream.spec();

  @TempDir Path dir;
  private final AtomicLong behind = new AtomicLong();
  private FeatureStore store;
  private FeatureServer server;
  private ManagedChannel channel;
  private FeatureServiceGrpc.FeatureServiceBlockingStub stub;

  @BeforeEach
  void start() {
    Replay replay = new Replay(SPEC, GoldenStream.SOURCE);
    List<FeatureRow> rows = new ArrayList<>();
    for (Event e : GoldenStream.generate(4, 3_000, 20, START, 3_600_000L)) {
      rows.addAll(replay.accept(e).rows());
    }
    store = FeatureStore.open(dir, SPEC);
    store.write(rows, Map.of());
    server =
        FeatureServer.start(
            ServerTransport.of(InProcessServerBuilder.forName(name), name),
            store,
            SPEC,
            behind::get,
            Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC));
    channel = InProcessChannelBuilder.forName(server.address()).build();
    stub = FeatureServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.close();
    store.close();
  }

  private static GetOnlineFeaturesRequest request(List<String> features, List<String> entities) {
    return GetOnlineFeaturesRequest.newBuilder()
        .addAllFeatures(features)
        .addAllEntityIds(entities)
        .build();
  }

  @Test
  void servesTheStoresVectorsAtNowInRequestOrder() {
    List<String> features =
        List.of("user_txn:txn_count_1h", "user_daily:amount_mean_1d", "user_txn:last_country");
    List<String> entities = List.of("u3", "nobody", "u0");

    GetOnlineFeaturesResponse response = stub.getOnlineFeatures(request(features, entities));

    assertThat(response.getFeaturesList()).isEqualTo(features);
    assertThat(response.getAsOfMs()).as("0 means the server's now").isEqualTo(NOW);
    assertThat(response.getEntitiesList()).isEqualTo(store.vectors(entities, features, NOW));
    assertThat(response.getEntities(0).getStatus()).isEqualTo(EntityStatus.ENTITY_STATUS_COMPLETE);
    assertThat(response.getEntities(1).getStatus()).isEqualTo(EntityStatus.ENTITY_STATUS_UNKNOWN);
  }

  private static Status statusOf(Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
    throw new AssertionError("the call succeeded");
  }

  @Test
  void answersInvalidArgumentNamingTheField() {
    Status noFeatures = statusOf(() -> stub.getOnlineFeatures(request(List.of(), List.of("u1"))));
    assertThat(noFeatures.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(noFeatures.getDescription()).isEqualTo("features must name at least one feature");

    Status noEntities =
        statusOf(
            () -> stub.getOnlineFeatures(request(List.of("user_txn:txn_count_1h"), List.of())));
    assertThat(noEntities.getDescription()).isEqualTo("entity_ids must name at least one entity");

    Status unknown =
        statusOf(() -> stub.getOnlineFeatures(request(List.of("user_txn:nope"), List.of("u1"))));
    assertThat(unknown.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(unknown.getDescription()).isEqualTo("view 'user_txn' has no feature 'nope'");
  }

  @Test
  void refusesOversizedBatchesAndCallsWhileBootstrapping() {
    List<String> many = IntStream.range(0, 1_001).mapToObj(i -> "u" + i).toList();
    Status big =
        statusOf(() -> stub.getOnlineFeatures(request(List.of("user_txn:txn_count_1h"), many)));
    assertThat(big.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(big.getDescription())
        .isEqualTo("entity_ids holds 1001 entities; at most 1000 per call");

    behind.set(1_234);
    Status booting =
        statusOf(
            () -> stub.getOnlineFeatures(request(List.of("user_txn:txn_count_1h"), List.of("u1"))));
    assertThat(booting.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(booting.getDescription())
        .isEqualTo("the feature store is bootstrapping: 1234 rows behind; retry");
  }

  @Test
  void listsTheFeaturesSortedWithTheirDefinition() {
    List<FeatureDescriptor> all =
        stub.listFeatures(ListFeaturesRequest.getDefaultInstance()).getFeaturesList();
    List<String> names = all.stream().map(FeatureDescriptor::getName).toList();
    List<String> sorted = new ArrayList<>(names);
    Collections.sort(sorted);

    assertThat(names)
        .isEqualTo(sorted)
        .contains("user_txn:merchants_1h", "user_daily:txn_count_1d");
    assertThat(all)
        .filteredOn(d -> d.getName().equals("user_txn:merchants_1h"))
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.getAggregation()).isEqualTo("approx_distinct");
              assertThat(d.getColumn()).isEqualTo("merchant_id");
              assertThat(d.getEntity()).isEqualTo("user_id");
              assertThat(d.getWindowMs()).isEqualTo(3_600_000);
            });
    assertThat(
            stub.listFeatures(ListFeaturesRequest.newBuilder().setViewPrefix("user_d").build())
                .getFeaturesList())
        .allMatch(d -> d.getView().equals("user_daily"))
        .isNotEmpty();
  }
}
