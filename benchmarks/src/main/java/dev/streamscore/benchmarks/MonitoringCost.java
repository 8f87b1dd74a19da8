package dev.streamscore.benchmarks;

import dev.streamscore.etl.TopicNames;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.modelsync.Profiles;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.RegistryServer;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.ReferenceProfile;
import dev.streamscore.proto.v1.ScoringGrpc;
import dev.streamscore.scoring.PredictionLog;
import dev.streamscore.scoring.ScoringNode;
import dev.streamscore.scoring.ScoringNodeConfig;
import dev.streamscore.scoring.ScoringServer;
import dev.streamscore.scoring.monitor.MonitorConfig;
import dev.streamscore.scoring.monitor.PredictionMonitor;
import dev.streamscore.scoring.monitor.RegistryVersions;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.utils.Utils;

/**
 * What monitoring costs scoring: {@code PredictStream} peak with and without it, in one run, the
 * two alternating so that the machine's drift falls on both. Without: the node logs its predictions
 * to Kafka as always, without their input vectors. With: the input vectors in the log and a
 * prediction monitor in the same process reading it back (drift against a reference profile,
 * predictions waiting for labels).
 *
 * <pre>
 * STREAMSCORE_LOG_LEVEL=WARN java -Xmx2g -cp benchmarks/target/streamscore-benchmarks.jar \
 *     dev.streamscore.benchmarks.MonitoringCost [entities=20000] [seconds=10] [rounds=3]
 * </pre>
 */
public final class MonitoringCost {
  private MonitoringCost() {}

  public static void main(String[] args) throws Exception {
    int entities = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    Path dir = Files.createTempDirectory("monitoring-cost");
    // The node scores as of a fixed time; the monitor's clock is the same, so every prediction
    // falls in its windows.
    Clock clock = Clock.fixed(Instant.ofEpochMilli(ScoringLoad.NOW), ZoneOffset.UTC);
    List<Double> off = new ArrayList<>();
    List<Double> on = new ArrayList<>();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        RegistryServer registry =
            RegistryServer.start(
                ServerTransport.loopback(0), dir.resolve("registry"), Optional.empty(), clock)) {
      ManagedChannel registryChannel =
          NettyChannelBuilder.forTarget(registry.address()).usePlaintext().build();
      RegistryClient client = new RegistryClient(registryChannel, Optional.empty(), "bench");
      Path model = TestModels.logisticRegression(dir.resolve("lr.onnx"), 9, 1);
      client.register(model, profiled(ScoringLoad.spec("fraud", true)));
      client.promote("fraud", "prod", 1);
      // A first round untimed: the JIT compiles both paths before either is measured.
      peak(kafka, registry, client, dir, "warm-off", false, entities, 5, clock);
      peak(kafka, registry, client, dir, "warm-on", true, entities, 5, clock);
      // Off-on, then on-off (ABBA): a machine that keeps speeding up or slowing down during
      // the run favours neither.
      for (int round = 0; round < rounds; round++) {
        boolean offFirst = round % 2 == 0;
        for (boolean monitored : new boolean[] {!offFirst, offFirst}) {
          double rate =
              peak(
                  kafka,
                  registry,
                  client,
                  dir,
                  (monitored ? "on-" : "off-") + round,
                  monitored,
                  entities,
                  seconds,
                  clock);
          (monitored ? on : off).add(rate);
        }
      }
      registryChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    } finally {
      Utils.delete(dir.toFile());
    }
    double offMedian = median(off);
    double onMedian = median(on);
    List<Double> costs = new ArrayList<>();
    for (int i = 0; i < off.size(); i++) {
      costs.add(100 * (1 - on.get(i) / off.get(i)));
    }
    System.out.printf(
        Locale.ROOT,
        "PredictStream peak, median of %d: without monitoring %,.0f/s, with %,.0f/s: cost %.1f%%;"
            + " per round %s%n",
        rounds,
        offMedian,
        onMedian,
        100 * (1 - onMedian / offMedian),
        costs.stream().map(c -> String.format(Locale.ROOT, "%.1f%%", c)).toList());
  }

  private static double peak(
      EmbeddedKafka kafka,
      RegistryServer registry,
      RegistryClient client,
      Path dir,
      String name,
      boolean monitored,
      int entities,
      int seconds,
      Clock clock)
      throws Exception {
    // A fresh log per phase: a monitor must not read back the phase before it.
    try (Admin admin = Admin.create(kafka.clientProperties())) {
      String topic = TopicNames.predictions("fraud");
      if (admin.listTopics().names().get().contains(topic)) {
        admin.deleteTopics(List.of(topic)).all().get();
        while (admin.listTopics().names().get().contains(topic)) {
          Thread.sleep(50); // deletion is asynchronous; nothing to wait on but the listing
        }
      }
      createTopic(admin, topic);
    }
    try (PredictionLog log = PredictionLog.start(kafka.bootstrapServers(), 10_000);
        ScoringNode node =
            ScoringNode.start(
                ScoringNodeConfig.of(
                        "bench-" + name, dir.resolve(name), Optional.empty(), registry.address())
                    .withGrpcInputLog(
                        monitored || Boolean.getBoolean("cost.inputLog")
                            ? ScoringServer.InputLog.ON
                            : ScoringServer.InputLog.OFF),
                ScoringLoad.SPEC,
                ScoringNode.Wiring.of(ServerTransport.loopback(0), new PrometheusRegistry(), clock)
                    .withPredictions(log));
        PredictionMonitor monitor =
            monitored
                ? PredictionMonitor.start(
                    kafka.bootstrapServers(),
                    new RegistryVersions(client, Clock.systemUTC()),
                    // -Dcost.labels: a label source exists, so predictions wait for labels
                    // (none come: each waits until the cap on waiting predictions evicts it).
                    Boolean.getBoolean("cost.labels")
                        ? MonitorConfig.defaults()
                            .withLabels(
                                java.time.Duration.ofHours(1), Map.of("payments", "is_fraud"))
                        : MonitorConfig.defaults(),
                    clock)
                : null) {
      List<FeatureRow> batch = new ArrayList<>();
      ScoringLoad.rows(
          entities,
          rows -> {
            batch.addAll(rows);
            if (batch.size() >= 10_000) {
              node.store().write(batch, Map.of());
              batch.clear();
            }
          });
      node.store().write(batch, Map.of());
      node.store().compact();
      while (node.agent().servingRevision("fraud", "prod") == 0) {
        Thread.sleep(20); // the agent is loading the model; nothing else to wait on
      }
      ManagedChannel channel =
          NettyChannelBuilder.forTarget(node.address()).usePlaintext().directExecutor().build();
      try {
        ScoringGrpc.ScoringStub async = ScoringGrpc.newStub(channel);
        System.out.printf("%s (warm-up) ", name);
        ScoringLoad.streamPeak(async, entities, 5);
        System.out.printf("%s%s ", name, monitored ? " with monitoring" : " without");
        double rate = ScoringLoad.streamPeak(async, entities, seconds);
        if (monitor != null) {
          System.out.printf(
              "  monitor: %,d predictions read, %d drift rows%n",
              monitor.read(), monitor.drift("fraud").size());
        }
        return rate;
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static void createTopic(Admin admin, String topic) throws Exception {
    while (true) {
      try {
        admin
            .createTopics(List.of(new NewTopic(topic, PredictionLog.PARTITIONS, (short) 1)))
            .all()
            .get();
        return;
      } catch (java.util.concurrent.ExecutionException e) {
        if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) {
          throw e;
        }
        Thread.sleep(50); // the deleted topic is still being removed
      }
    }
  }

  /** The model's spec with a profile of plausible values: the cost is in the bins, not the fit. */
  private static ModelVersionSpec profiled(ModelVersionSpec spec) {
    Random random = new Random(1);
    ReferenceProfile.Builder profile = ReferenceProfile.newBuilder().setSource("synthetic");
    for (int i = 0; i < spec.getInputsCount(); i++) {
      double[] values = new double[5_000];
      for (int r = 0; r < values.length; r++) {
        values[r] = i == 0 ? random.nextInt(4) : 100 * random.nextDouble();
      }
      profile.addInputs(Profiles.distribution(spec.getInputs(i).getName(), values, null));
    }
    for (int o = 0; o < spec.getOutputsCount(); o++) {
      double[] values = new double[5_000];
      for (int r = 0; r < values.length; r++) {
        values[r] = random.nextDouble();
      }
      profile.addOutputs(Profiles.distribution(spec.getOutputs(o).getName(), values, null));
    }
    return spec.toBuilder().setProfile(profile).build();
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(null);
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }
}
