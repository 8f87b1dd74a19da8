package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.Replay;
import dev.streamscore.featurestore.FeatureTopics;
import dev.streamscore.kafka.TopicReader;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.PartitionRouter;
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
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The roles as separate processes against one broker: validators sharing the raw partitions, a
 * stateless gateway, scoring nodes following one registry, and scoring nodes each holding some of
 * the feature topics' partitions.
 */
class RoleCommandsIT {
  private final Launcher launcher = new Launcher();

  @AfterEach
  void killLeftovers() {
    launcher.killAll();
  }

  @Test
  void twoValidatorsAndTwoGatewaysLoseNoRecordWhenAValidatorStopsAndAGatewayIsKilled(
      @TempDir Path dir) throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Admin admin = Admin.create(kafka.clientProperties())) {
      String bootstrap = kafka.bootstrapServers();
      Launcher.Running first = validator(bootstrap, dir.resolve("v1"));
      Launcher.Running second = validator(bootstrap, dir.resolve("v2"));
      Launcher.Running gateway = launcher.start("gateway", "--kafka", bootstrap, "--port", "0");
      for (Launcher.Running r : List.of(first, second, gateway)) {
        assertThat(r.awaitLine("ready", Duration.ofSeconds(90))).as(r.stderr().toString()).isTrue();
      }
      String ingest = gateway.endpoint("ingest").orElseThrow();
      // One group, two members, each with some of the raw partitions.
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                ConsumerGroupDescription group =
                    admin
                        .describeConsumerGroups(List.of("streamscore-validator"))
                        .all()
                        .get()
                        .get("streamscore-validator");
                return group.members().size() == 2
                    && group.members().stream()
                        .allMatch(m -> !m.assignment().topicPartitions().isEmpty());
              });
      Map<String, Object> client = kafka.clientProperties();

      // produce is given two gateways while only the first runs, so its stream is on the first;
      // the second starts, the first is SIGKILLed mid-stream, and produce goes on through the
      // second, sending again what had no ack.
      int secondPort = Launcher.freePort();
      String both = ingest + ",127.0.0.1:" + secondPort;
      CompletableFuture<CliRun> viaBoth =
          // 30 s of payments: time for the second gateway to start while they flow.
          CompletableFuture.supplyAsync(() -> produce(both, 6_000, 1, 200));
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () ->
                  TopicReader.readAll(client, "raw.payments", Duration.ofMinutes(1), r -> {})
                      >= 500);
      Launcher.Running other =
          launcher.start("gateway", "--kafka", bootstrap, "--port", Integer.toString(secondPort));
      assertThat(other.awaitLine("ready", Duration.ofSeconds(90))).isTrue();
      gateway.process.destroyForcibly();
      assertThat(gateway.awaitExit(Duration.ofSeconds(30))).isEqualTo(137);
      CliRun throughBoth = viaBoth.get(3, TimeUnit.MINUTES);
      assertThat(throughBoth.code()).as(throughBoth.err()).isZero();
      assertThat(throughBoth.out()).contains("streams opened again after a gateway failed");

      first.process.destroy(); // SIGTERM: it commits, leaves the group, and the other takes over
      assertThat(first.awaitExit(Duration.ofSeconds(60))).isEqualTo(143);
      CliRun afterwards = produce(other.endpoint("ingest").orElseThrow(), 2_000, 2, 0);
      assertThat(afterwards.code()).as(afterwards.err()).isZero();

      // The gateways dead-letter what they can refuse themselves; the rest went to raw.payments,
      // some twice: a killed gateway may have written an event whose ack it never sent.
      long raw = TopicReader.readAll(client, "raw.payments", Duration.ofMinutes(1), r -> {});
      await()
          .atMost(Duration.ofMinutes(2))
          .pollInterval(Duration.ofSeconds(1))
          .until(() -> Ledger.outcomes(client).size() >= 8_000);
      List<String> outcomes = Ledger.outcomes(client);
      // The gateway's own dead letters name the raw topic at partition and offset -1.
      List<String> ofRaw = outcomes.stream().filter(o -> !o.endsWith("/-1/-1")).toList();
      assertThat(ofRaw).as("one outcome per raw record").hasSize((int) raw);
      assertThat(new HashSet<>(ofRaw)).hasSize((int) raw);
      assertThat(outcomes.size())
          .as("an outcome for every event sent")
          .isGreaterThanOrEqualTo(8_000);
    }
  }

  @Test
  void twoScoringNodesShareStreamScoringAndEveryEventIsScoredOnceWhenOneIsKilled(@TempDir Path dir)
      throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Admin admin = Admin.create(kafka.clientProperties())) {
      FeatureTopics.ensure(admin, FeatureSpec.shippedPayments(), Duration.ofSeconds(30));
      String bootstrap = kafka.bootstrapServers();
      Launcher.Running registry =
          launcher.start(
              "registry", "--port", "0", "--data-dir", dir.resolve("registry").toString());
      Launcher.Running validator = validator(bootstrap, dir.resolve("validator"));
      assertThat(registry.awaitLine("ready", Duration.ofSeconds(60))).isTrue();
      assertThat(validator.awaitLine("ready", Duration.ofSeconds(90))).isTrue();
      String registryAddress = registry.endpoint("registry").orElseThrow();
      registerAndPromote(registryAddress, dir, "fraud");
      List<Launcher.Running> nodes =
          scoringNodes(bootstrap, registryAddress, dir, "--stream-scoring", "fraud:prod");
      String group = "streamscore-stream-scoring-payments-fraud-prod";
      // The group appears once the nodes have the version and start stream scoring.
      await()
          .atMost(Duration.ofSeconds(90))
          .ignoreExceptions()
          .until(
              () -> {
                ConsumerGroupDescription g =
                    admin.describeConsumerGroups(List.of(group)).all().get().get(group);
                return g.members().size() == 2
                    && g.members().stream()
                        .allMatch(m -> !m.assignment().topicPartitions().isEmpty());
              });

      Map<String, Object> client = kafka.clientProperties();
      Ledger.produceToKafka(bootstrap, 3_000, 1);
      await()
          .atMost(Duration.ofMinutes(1))
          .until(() -> Ledger.streamPredictions(client, "fraud").size() > 500);
      nodes.get(0).process.destroyForcibly(); // SIGKILL: the other node takes its partitions over
      assertThat(nodes.get(0).awaitExit(Duration.ofSeconds(30))).isEqualTo(137);
      Ledger.produceToKafka(bootstrap, 3_000, 2);

      // Once the validator has given each of the 6,000 raw records its outcome.
      await()
          .atMost(Duration.ofMinutes(2))
          .pollInterval(Duration.ofSeconds(1))
          .until(() -> Ledger.outcomes(client).size() >= 6_000);
      long events = TopicReader.readAll(client, "events.payments", Duration.ofMinutes(1), r -> {});
      assertThat(events).isPositive();
      await()
          .atMost(Duration.ofMinutes(3))
          .pollInterval(Duration.ofSeconds(1))
          .until(() -> Ledger.streamPredictions(client, "fraud").size() >= events);
      List<String> scored = Ledger.streamPredictions(client, "fraud");
      assertThat(scored).as("one prediction per valid event").hasSize((int) events);
      assertThat(new HashSet<>(scored)).hasSize((int) events);
    }
  }

  @Test
  void twoNodesFollowingOneRegistryEachHoldingHalfThePartitionsServeEveryEntityRoutedToThem(
      @TempDir Path dir) throws Exception {
    FeatureSpec spec = FeatureSpec.shippedPayments();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Admin admin = Admin.create(kafka.clientProperties());
        KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(
                kafka.clientProperties(), new ByteArraySerializer(), new ByteArraySerializer())) {
      FeatureTopics.ensure(admin, spec, Duration.ofSeconds(30));
      // 10,000 random entities, one payment each, 10 ms apart, all ten minutes ago or more:
      // every entity's txn_count_1h is 1 now.
      SplittableRandom random = new SplittableRandom(19);
      List<String> entities = new ArrayList<>();
      for (int i = 0; i < 10_000; i++) {
        entities.add("u" + Long.toHexString(random.nextLong()));
      }
      long t0 = System.currentTimeMillis() - 15 * 60_000L;
      FeatureRows.send(
          producer,
          FeatureRows.payments(
              new Replay(spec, "payments"), 0, entities.size(), t0, 10, entities::get));

      Launcher.Running registry =
          launcher.start(
              "registry", "--port", "0", "--data-dir", dir.resolve("registry").toString());
      assertThat(registry.awaitLine("ready", Duration.ofSeconds(60))).isTrue();
      String registryAddress = registry.endpoint("registry").orElseThrow();
      registerAndPromote(registryAddress, dir, "fraud");
      List<Launcher.Running> nodes = new ArrayList<>();
      for (String held : List.of("0,1", "2-3")) {
        nodes.add(
            launcher.start(
                "scoring-node",
                "--kafka",
                kafka.bootstrapServers(),
                "--registry",
                registryAddress,
                "--node-id",
                "node-" + held,
                "--port",
                "0",
                "--partitions",
                held,
                "--data-dir",
                dir.resolve("node-" + held.charAt(0)).toString()));
      }
      for (Launcher.Running node : nodes) {
        assertThat(node.awaitLine("ready", Duration.ofSeconds(90)))
            .as(node.stderr().toString())
            .isTrue();
      }
      for (Launcher.Running node : nodes) {
        assertThat(node.endpoint("metrics")).isPresent();
      }
      String low = nodes.get(0).endpoint("scoring").orElseThrow();
      String high = nodes.get(1).endpoint("scoring").orElseThrow();

      try (PartitionRouter router =
          PartitionRouter.forTable(
              "0,1=" + low + ";2,3=" + high, List.of(ScoringGrpc.SERVICE_NAME))) {
        // Until both nodes have caught up and loaded v1.
        for (int p = 0; p < 4; p++) {
          int partition = p;
          String entity =
              entities.stream().filter(e -> router.partitionOf(e) == partition).findFirst().get();
          await()
              .atMost(Duration.ofSeconds(60))
              .ignoreException(StatusRuntimeException.class)
              .until(() -> predict(router, entity).getFeatureIssuesCount() == 0);
        }
        int[] perPartition = new int[4];
        for (String entity : entities) {
          PredictResponse answer = predict(router, entity);
          assertThat(answer.getFeatureIssuesList()).as(entity).isEmpty();
          assertThat(answer.getFeatures(0)).as("txn_count_1h of %s", entity).isEqualTo(1.0);
          perPartition[router.partitionOf(entity)]++;
        }
        assertThat(Arrays.stream(perPartition).min().orElseThrow()).isGreaterThan(2_000);

        // Sent to the node that does not hold it, a request is refused, naming the owner.
        String ofPartition3 =
            entities.stream().filter(e -> router.partitionOf(e) == 3).findFirst().get();
        ManagedChannel wrong = NettyChannelBuilder.forTarget(low).usePlaintext().build();
        try {
          assertThatThrownBy(
                  () ->
                      ScoringGrpc.newBlockingStub(wrong)
                          .withDeadlineAfter(10, TimeUnit.SECONDS)
                          .predict(request(ofPartition3)))
              .isInstanceOfSatisfying(
                  StatusRuntimeException.class,
                  e ->
                      assertThat(e.getStatus().getCode())
                          .isEqualTo(Status.Code.FAILED_PRECONDITION))
              .hasMessageContaining(
                  "entity_ids['user_id'] = '"
                      + ofPartition3
                      + "' is in partition 3 of the feature topics (of 4); this node holds"
                      + " partitions 0,1");
        } finally {
          wrong.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
      }
      for (Launcher.Running node : nodes) {
        node.process.destroy();
        assertThat(node.awaitExit(Duration.ofSeconds(60))).isEqualTo(143);
      }
    }
  }

  private static PredictRequest request(String entity) {
    return PredictRequest.newBuilder()
        .setModel(ModelRef.newBuilder().setName("fraud"))
        .putEntityIds("user_id", entity)
        .putRequestFeatures("amount", Value.newBuilder().setDoubleValue(12).build())
        .setIncludeFeatures(true)
        .build();
  }

  private static PredictResponse predict(PartitionRouter router, String entity) {
    PredictRequest request = request(entity);
    return ScoringGrpc.newBlockingStub(router.channelFor(request))
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .predict(request);
  }

  /**
   * Registers a logistic regression over user_txn:txn_count_1h and amount as {@code name}, v1 in
   * prod.
   */
  static void registerAndPromote(String registryAddress, Path dir, String name) throws Exception {
    ManagedChannel channel = NettyChannelBuilder.forTarget(registryAddress).usePlaintext().build();
    try {
      RegistryClient client = new RegistryClient(channel, Optional.empty(), "ci");
      client.register(
          TestModels.logisticRegression(dir.resolve("m.onnx"), 2, 1),
          ModelVersionSpec.newBuilder()
              .setName(name)
              .setFormat(ModelFormat.MODEL_FORMAT_ONNX)
              .addInputs(
                  ModelInput.newBuilder().setName("user_txn:txn_count_1h").setView("user_txn"))
              .addInputs(ModelInput.newBuilder().setName("amount"))
              .addOutputs(ModelOutput.newBuilder().setName("p0"))
              .addOutputs(ModelOutput.newBuilder().setName("p1"))
              .build());
      client.promote(name, "prod", 1);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** Two scoring nodes (node-1, node-2) with their own data directories, once both are ready. */
  private List<Launcher.Running> scoringNodes(
      String bootstrap, String registryAddress, Path dir, String... more) throws Exception {
    List<Launcher.Running> nodes = new ArrayList<>();
    for (int n = 1; n <= 2; n++) {
      List<String> args =
          new ArrayList<>(
              List.of(
                  "scoring-node",
                  "--kafka",
                  bootstrap,
                  "--registry",
                  registryAddress,
                  "--node-id",
                  "node-" + n,
                  "--port",
                  "0",
                  "--data-dir",
                  dir.resolve("node-" + n).toString()));
      args.addAll(List.of(more));
      nodes.add(launcher.start(args.toArray(String[]::new)));
    }
    for (Launcher.Running node : nodes) {
      assertThat(node.awaitLine("ready", Duration.ofSeconds(90)))
          .as(node.stderr().toString())
          .isTrue();
    }
    return nodes;
  }

  private Launcher.Running validator(String bootstrap, Path dataDir) throws Exception {
    return launcher.start("validator", "--kafka", bootstrap, "--data-dir", dataDir.toString());
  }

  private static CliRun produce(String ingest, int n, int seed, int rate) {
    return CliRun.of(
        "produce",
        "--to",
        "grpc",
        "--ingest",
        ingest,
        "-n",
        Integer.toString(n),
        "--rate",
        Integer.toString(rate),
        "--seed",
        Integer.toString(seed));
  }
}
