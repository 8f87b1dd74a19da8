package dev.streamscore.launcher;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.ingest.generator.GeneratedEvent;
import dev.streamscore.ingest.generator.GeneratorConfig;
import dev.streamscore.ingest.generator.PaymentsGenerator;
import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.kafka.TopicTail;
import dev.streamscore.launcher.cluster.ClusterException;
import dev.streamscore.launcher.cluster.Drill;
import dev.streamscore.launcher.cluster.DrillReport;
import dev.streamscore.launcher.cluster.LocalCluster;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.proto.v1.Event;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code streamscore cluster drill}: the full fault drill on the local cluster, with a printed
 * report. Brings the cluster up if it is not, and trains and registers the model the drill scores
 * with ({@value Drill#MODEL}, alias prod) if the registry has none: from payments it publishes
 * first, as the demo does.
 */
@Command(
    name = "drill",
    mixinStandardHelpOptions = true,
    description = {
      "Kills each member under load, starts it again, and checks that nothing was lost.",
      "",
      "Load: payments into Kafka and Predict through the failover client, stream scoring on.",
      "Prints one line per fault (time back to service, Predict latency and failures) and the",
      "ledgers: every raw record one event or dead letter, every event one stream prediction.",
      "Exit status 1 when a check fails."
    })
final class ClusterDrillCommand implements Callable<Integer> {
  @Option(
      names = "--dir",
      paramLabel = "DIR",
      defaultValue = "local-cluster",
      description = "The cluster's directory (default: ${DEFAULT-VALUE}).")
  Path dir;

  @Option(
      names = "--faults",
      paramLabel = "MEMBER,...",
      split = ",",
      description =
          "Members to kill, in order; a+b kills a and b at once (default: a broker, the ETL"
              + " engine's processes, a scoring node, a validator, a gateway).")
  List<String> faults;

  @Option(
      names = "--events-per-second",
      defaultValue = "100",
      description = "Payments per second into Kafka (default: ${DEFAULT-VALUE}).")
  int eventsPerSecond;

  @Option(
      names = "--ingest-per-second",
      defaultValue = "20",
      description =
          "Payments per second through the gateways, besides those into Kafka"
              + " (default: ${DEFAULT-VALUE}).")
  int ingestPerSecond;

  @Option(
      names = "--predicts-per-second",
      defaultValue = "20",
      description = "Predict calls per second (default: ${DEFAULT-VALUE}).")
  int predictsPerSecond;

  @Option(
      names = "--between",
      paramLabel = "SECONDS",
      defaultValue = "10",
      description =
          "Load after each member is back, before the next fault (default: ${DEFAULT-VALUE}).")
  int between;

  @Option(
      names = "--predict-deadline",
      paramLabel = "SECONDS",
      defaultValue = "10",
      description =
          "How long a Predict may take, failover included, before it counts as failed"
              + " (default: ${DEFAULT-VALUE}).")
  int predictDeadline;

  @CommandLine.Spec CommandLine.Model.CommandSpec command;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = command.commandLine().getOut();
    Clock clock = Clock.systemUTC();
    LocalCluster cluster =
        LocalCluster.open(
            dir,
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            EtlProcess.home(),
            clock,
            line -> {
              out.println(line);
              out.flush();
            });
    cluster.up();
    ensureModel(cluster, out);
    List<String> plan =
        faults != null
            ? faults
            : cluster.etl() == LocalCluster.Etl.FLINK
                ? List.of(
                    "kafka-2",
                    "flink-taskmanager",
                    "flink-jobmanager",
                    "scoring-1",
                    "validator-1",
                    "gateway-1")
                : List.of("kafka-2", "spark-worker", "scoring-1", "validator-1", "gateway-1");
    DrillReport report =
        new Drill(
                cluster,
                clock,
                line -> {
                  out.println(line);
                  out.flush();
                })
            .run(
                new Drill.Plan(
                    eventsPerSecond,
                    predictsPerSecond,
                    ingestPerSecond,
                    Duration.ofSeconds(20),
                    plan,
                    Duration.ofSeconds(between),
                    System.nanoTime(),
                    true,
                    Duration.ofSeconds(predictDeadline)));
    report.lines().forEach(out::println);
    out.flush();
    return report.passed() ? 0 : 1;
  }

  /**
   * Registers and promotes a model for the drill unless one is in prod: a logistic regression
   * trained on the point-in-time features of 5,000 payments it publishes first.
   */
  private static void ensureModel(LocalCluster cluster, PrintWriter out) throws Exception {
    String bootstrap = cluster.layout().bootstrap();
    ManagedChannel channel =
        NettyChannelBuilder.forTarget("127.0.0.1:" + cluster.layout().registryPort())
            .usePlaintext()
            .build();
    try {
      RegistryClient registry =
          new RegistryClient(
              channel,
              Optional.ofNullable(System.getenv(PlatformConfig.TOKEN_ENV))
                  .filter(t -> !t.isBlank()),
              "drill");
      try {
        if (registry.model(Drill.MODEL).getAliasesList().stream()
            .anyMatch(a -> a.getAlias().equals("prod"))) {
          return;
        }
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
          throw e;
        }
      }
      List<Event> log = publishAndRead(bootstrap, 5_000);
      List<Trainer.Row> rows = TrainingSet.rows(FeatureSpec.shippedPayments(), log, 0, log.size());
      if (rows.stream().noneMatch(Trainer.Row::fraud)) {
        throw new ClusterException(
            "cannot train "
                + Drill.MODEL
                + ": the "
                + rows.size()
                + " payments read back hold no fraud; register a model as "
                + Drill.MODEL
                + ":prod and run the drill again");
      }
      Path file = Files.createTempFile("streamscore-drill", ".onnx");
      try {
        Trainer.Trained model = Trainer.train(rows, 5, 1, file);
        long version =
            registry
                .register(
                    model.file(),
                    TrainingSet.spec(model, Map.of(), rows, "training rows: the drill's payments")
                        .toBuilder()
                        .setName(Drill.MODEL)
                        .build())
                .getVersion();
        registry.promote(Drill.MODEL, "prod", version);
        out.printf(
            "trained %s v%d on %,d point-in-time rows and promoted it to prod%n",
            Drill.MODEL, version, rows.size());
        out.flush();
      } finally {
        Files.deleteIfExists(file);
      }
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** Publishes {@code n} generated payments and reads back the whole events log, in order. */
  private static List<Event> publishAndRead(String bootstrap, int n) throws Exception {
    try (KafkaProducer<String, byte[]> producer =
            new KafkaProducer<>(
                KafkaClients.config(bootstrap, Map.of(ProducerConfig.ACKS_CONFIG, "all")),
                new StringSerializer(),
                new ByteArraySerializer());
        TopicTail events =
            TopicTail.fromBeginning(
                KafkaClients.config(
                    bootstrap, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed")),
                TopicNames.events("payments"),
                Duration.ofSeconds(30))) {
      // A fraud burst every 500 events on average, so that 5,000 hold some.
      PaymentsGenerator generator =
          new PaymentsGenerator(
              GeneratorConfig.defaults(7).withFraudRate(1.0 / 500), Clock.systemUTC());
      for (int i = 0; i < n; i++) {
        GeneratedEvent e = generator.next();
        producer.send(new ProducerRecord<>(TopicNames.raw("payments"), e.key(), e.json()));
      }
      producer.flush();
      // Until nearly all are events (a few are invalid on purpose): a young cluster's validator
      // can pause longer than any quiet period while it starts.
      List<Event> log = new ArrayList<>();
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
      while (log.size() < n * 9 / 10 && System.nanoTime() < deadline) {
        for (var r : events.readUntilQuiet(Duration.ofSeconds(5), Duration.ofMinutes(3))) {
          log.add(Event.parseFrom(r.value()));
        }
      }
      return log;
    }
  }
}
