package dev.streamscore.scoring;

import dev.streamscore.etl.FeatureProcessor;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.InMemoryEntityState;
import dev.streamscore.featurestore.FeatureStore;
import dev.streamscore.modelsync.ModelAlias;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.RegistryServer;
import dev.streamscore.modelsync.SyncAgent;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.MissingPolicy;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.Value;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * A whole {@link ScoringNode} for tests, every part real, beside a registry on loopback: the node's
 * RocksDB replica in a temp dir is written by the test, and predictions are collected in memory.
 */
final class Node implements AutoCloseable {
  static final FeatureSpec SPEC = FeatureSpec.shippedPayments();
  static final long T0 = 1_764_000_000_000L;

  /** The scoring clock: a minute after the first payment. */
  static final long NOW = T0 + 60_000;

  static final List<String> STORED = List.of("user_txn:txn_count_1h", "user_txn:amount_mean_1h");

  final RegistryServer registry;
  final ManagedChannel registryChannel;
  final RegistryClient client;
  final ScoringNode node;
  final FeatureStore store;
  final SyncAgent agent;
  final ManagedChannel channel;
  final ConcurrentLinkedQueue<dev.streamscore.proto.v1.Prediction> logged =
      new ConcurrentLinkedQueue<>();
  final PrometheusRegistry metrics = new PrometheusRegistry();

  /** The scoring clock: fixed at {@link #NOW}. */
  static final Clock CLOCK = Clock.fixed(java.time.Instant.ofEpochMilli(NOW), ZoneOffset.UTC);

  Node(Path dir) {
    registry =
        RegistryServer.start(
            ServerTransport.loopback(0),
            dir.resolve("registry"),
            Optional.empty(),
            Clock.systemUTC());
    registryChannel = NettyChannelBuilder.forTarget(registry.address()).usePlaintext().build();
    client = new RegistryClient(registryChannel, Optional.empty(), "ci");
    node =
        ScoringNode.start(
            ScoringNodeConfig.of(
                    "node-1", dir.resolve("node"), Optional.empty(), registry.address())
                .withAliases(
                    List.of(new ModelAlias("fraud", "prod"), new ModelAlias("fraud", "staging")))
                .withRegistryPoll(Duration.ofMillis(200)),
            SPEC,
            ScoringNode.Wiring.of(ServerTransport.loopback(0), metrics, CLOCK)
                .withPredictions(logged::add));
    store = node.store();
    agent = node.agent();
    channel = NettyChannelBuilder.forTarget(node.address()).usePlaintext().build();
  }

  /** Waits (up to 30 s) until fraud/prod serves {@code revision} or later. */
  void awaitServing(long revision) {
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> agent.servingRevision("fraud", "prod") >= revision);
  }

  /** Prod serves {@code live} with {@code shadow} as its shadow, and the node has loaded both. */
  void serveWithShadow(long live, long shadow) {
    awaitServing(
        client
            .setAlias(
                "fraud",
                "prod",
                dev.streamscore.proto.v1.TrafficPolicy.newBuilder()
                    .addSplits(
                        dev.streamscore.proto.v1.TrafficSplit.newBuilder()
                            .setVersion(live)
                            .setWeight(1))
                    .setShadowVersion(shadow)
                    .build(),
                "shadow v" + shadow)
            .getRevision());
  }

  /** Inputs: the two stored user_txn features, then the request-time {@code amount}. */
  static ModelVersionSpec spec(MissingPolicy policy) {
    ModelVersionSpec.Builder spec =
        ModelVersionSpec.newBuilder().setName("fraud").setFormat(ModelFormat.MODEL_FORMAT_ONNX);
    for (String f : STORED) {
      spec.addInputs(
          ModelInput.newBuilder()
              .setName(f)
              .setView("user_txn")
              .setDefaultValue(-1)
              .setMissingPolicy(policy));
    }
    spec.addInputs(ModelInput.newBuilder().setName("amount").setDefaultValue(50));
    spec.addOutputs(ModelOutput.newBuilder().setName("p0"));
    spec.addOutputs(ModelOutput.newBuilder().setName("p1"));
    return spec.build();
  }

  /** {@code n} payments of {@code user}, 1 s apart from {@link #T0}, amounts 10, 20, ... */
  void payments(String user, int n) {
    FeatureProcessor processor = FeatureProcessor.of(SPEC, "payments", "test");
    InMemoryEntityState state = new InMemoryEntityState();
    List<FeatureRow> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Event e =
          Event.newBuilder()
              .setSource("payments")
              .setEntityId(user)
              .setEventId(user + "-t" + i)
              .setEventTimeMs(T0 + i * 1_000L)
              .putFields("amount", Value.newBuilder().setDoubleValue(10.0 * (i + 1)).build())
              .putFields("merchant_id", Value.newBuilder().setStringValue("m" + i).build())
              .putFields("country", Value.newBuilder().setStringValue("US").build())
              .build();
      rows.addAll(processor.process(state, e, T0).rows());
    }
    store.write(rows, Map.of());
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    node.close();
    registryChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    registry.close();
  }
}
