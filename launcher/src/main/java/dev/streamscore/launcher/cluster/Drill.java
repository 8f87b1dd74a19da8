package dev.streamscore.launcher.cluster;

import com.google.protobuf.ByteString;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.Replay;
import dev.streamscore.ingest.generator.GeneratedEvent;
import dev.streamscore.ingest.generator.GeneratorConfig;
import dev.streamscore.ingest.generator.PaymentsGenerator;
import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.launcher.load.OpenLoop;
import dev.streamscore.proto.FailoverChannels;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.IngestGrpc;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.PredictResponse;
import dev.streamscore.proto.v1.PublishBatchRequest;
import dev.streamscore.proto.v1.PublishBatchResponse;
import dev.streamscore.proto.v1.PublishRequest;
import dev.streamscore.proto.v1.ScoringGrpc;
import dev.streamscore.proto.v1.Value;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ClientStreamTracer;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.LongPredicate;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A fault drill on a running {@link LocalCluster}: under steady load — payments into Kafka at a
 * fixed rate, {@code Predict} at a fixed rate through the failover client, stream scoring on — it
 * SIGKILLs one member at a time and starts it again, then reads back what the platform wrote and
 * checks it: every raw record became exactly one event or one dead letter, every event exactly one
 * stream prediction, and no {@code Predict} failed.
 *
 * <p>The model {@value #MODEL} must be registered with alias {@code prod} before the drill.
 */
public final class Drill {
  /** The model the scoring nodes score every event with, and Predict asks for. */
  public static final String MODEL = "payments-fraud";

  private static final String SOURCE = "payments";

  /**
   * What to do.
   *
   * @param eventsPerSecond payments produced to {@code raw.payments} per second
   * @param predictsPerSecond Predict calls per second, across the scoring nodes
   * @param ingestPerSecond payments published through the ingest gateways per second (unary
   *     PublishBatch calls of one event, through the failover client); 0 for none
   * @param warmUp load before the first fault
   * @param faults what to kill and start again, one fault at a time: a member, or members joined by
   *     {@code +} killed together (as a host failure takes down all it runs) and started again
   *     together
   * @param between load after each member serves again, before the next fault
   * @param seed the generator's
   * @param compareTiles whether to compare the feature tiles with the core's replay afterwards (a
   *     caller checking a superset itself may skip it)
   * @param predictDeadline how long a Predict may take, failover included, before the client counts
   *     it failed
   */
  public record Plan(
      int eventsPerSecond,
      int predictsPerSecond,
      int ingestPerSecond,
      Duration warmUp,
      List<String> faults,
      Duration between,
      long seed,
      boolean compareTiles,
      Duration predictDeadline) {
    public Plan {
      faults = List.copyOf(faults);
      for (String fault : faults) {
        if (fault.isBlank() || members(fault).stream().anyMatch(String::isBlank)) {
          throw new IllegalArgumentException(
              "a fault is a member or members joined by '+', got '" + fault + "'");
        }
      }
      if (predictDeadline.isNegative() || predictDeadline.isZero()) {
        throw new IllegalArgumentException("the Predict deadline must be positive");
      }
      if (eventsPerSecond < 1 || predictsPerSecond < 1 || ingestPerSecond < 0) {
        throw new IllegalArgumentException("the drill needs some load of both kinds");
      }
    }
  }

  /** The members one fault kills: {@code scoring-1+flink-taskmanager} is two. */
  static List<String> members(String fault) {
    return List.of(fault.split("\\+", -1));
  }

  private final LocalCluster cluster;
  private final Clock clock;
  private final Consumer<String> progress;
  private final LongAdder retries = new LongAdder();
  private final LongAdder ingestRetries = new LongAdder();
  private final AtomicLong ingestAccepted = new AtomicLong();
  private final Map<String, Long> failures = new ConcurrentSkipListMap<>();
  private final Map<String, Long> ingestFailures = new ConcurrentSkipListMap<>();

  /** Where raw.payments ended when the load began: the drill checks only what it wrote. */
  private Map<Integer, Long> rawStart = Map.of();

  /** When the load began: tiles starting later hold only events the drill sent. */
  private long loadStartedMs;

  public Drill(LocalCluster cluster, Clock clock, Consumer<String> progress) {
    this.cluster = cluster;
    this.clock = clock;
    this.progress = progress;
  }

  /** Runs the plan and checks the ledgers; the cluster must be up, the model registered. */
  public DrillReport run(Plan plan) throws InterruptedException {
    for (String fault : plan.faults()) {
      members(fault).forEach(cluster::requireMember);
    }
    String bootstrap = cluster.layout().bootstrap();
    List<DrillReport.FaultResult> faults = new ArrayList<>();
    OpenLoop.Result events;
    OpenLoop.Result predicts;
    OpenLoop.Result published;
    ManagedChannel channel =
        FailoverChannels.forTargets(
            cluster.layout().scoringTargets(), List.of(ScoringGrpc.SERVICE_NAME));
    ManagedChannel gateways =
        FailoverChannels.forTargets(
            String.join(",", cluster.layout().gateways()), List.of(IngestGrpc.SERVICE_NAME));
    try (KafkaProducer<String, byte[]> producer = producer(bootstrap)) {
      Channel counted = ClientInterceptors.intercept(channel, countRetries(retries));
      awaitPredictServes(counted);
      rawStart = Ledgers.rawEnds(bootstrap);
      loadStartedMs = clock.millis();
      OpenLoop produce = produceLoad(producer, plan);
      OpenLoop predict = predictLoad(counted, plan);
      OpenLoop ingest =
          ingestLoad(ClientInterceptors.intercept(gateways, countRetries(ingestRetries)), plan);
      progress.accept(
          "load: "
              + plan.eventsPerSecond()
              + " payments/s into Kafka, "
              + plan.ingestPerSecond()
              + " through the gateways, "
              + plan.predictsPerSecond()
              + " Predict/s through the failover client");
      pause(plan.warmUp());
      for (String fault : plan.faults()) {
        predict.sinceLast();
        long failedBefore = predictFailed(predict);
        long retriesBefore = retries.sum();
        Instant killed = clock.instant();
        for (String member : members(fault)) {
          cluster.kill(member);
        }
        cluster.start(members(fault));
        Duration toService = Duration.between(killed, clock.instant());
        pause(plan.between());
        Histogram window = predict.sinceLast();
        DrillReport.FaultResult result =
            new DrillReport.FaultResult(
                fault,
                toService,
                predictFailed(predict) - failedBefore,
                retries.sum() - retriesBefore,
                window.getValueAtPercentile(50) / 1000.0,
                window.getValueAtPercentile(99) / 1000.0);
        faults.add(result);
        progress.accept(
            String.format(
                "%s back in %.1f s; %d Predict failed, %d retries",
                fault,
                toService.toMillis() / 1000.0,
                result.predictFailed(),
                result.predictRetries()));
      }
      events = produce.stop(Duration.ofSeconds(60));
      predicts = predict.stop(Duration.ofSeconds(30));
      published = ingest.stop(Duration.ofSeconds(30));
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      gateways.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    progress.accept("load stopped; reading back what the platform wrote");
    return check(bootstrap, plan, events, predicts, published, faults);
  }

  private DrillReport check(
      String bootstrap,
      Plan plan,
      OpenLoop.Result events,
      OpenLoop.Result predicts,
      OpenLoop.Result published,
      List<DrillReport.FaultResult> faults) {
    Map<String, Object> client =
        KafkaClients.config(
            bootstrap, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"));
    Duration read = Duration.ofMinutes(2);
    // The ETL and stream scoring catch up after the last fault; wait until the ledgers stop
    // growing short of their targets, bounded.
    Instant deadline = clock.instant().plus(Duration.ofMinutes(3));
    Ledgers ledgers = Ledgers.read(client, read, rawStart);
    while ((ledgers.outcomeCount() < ledgers.rawRecords()
            || ledgers.scoredOf(ledgers.events()) < ledgers.events().size())
        && clock.instant().isBefore(deadline)) {
      pause(Duration.ofSeconds(2));
      ledgers = Ledgers.read(client, read, rawStart);
    }
    Tiles tiles = plan.compareTiles() ? compareTiles(client) : new Tiles(-1, "");
    Map<String, Integer> perRaw = new HashMap<>();
    ledgers.outcomes().forEach(o -> perRaw.merge(o, 1, Integer::sum));
    long several = perRaw.values().stream().filter(n -> n > 1).count();
    Map<String, Integer> perEvent = new HashMap<>();
    ledgers.scored().forEach(id -> perEvent.merge(id, 1, Integer::sum));
    Set<String> eventIds = new HashSet<>(ledgers.events());
    long unscored = eventIds.stream().filter(id -> !perEvent.containsKey(id)).count();
    long scoredTwice =
        perEvent.entrySet().stream()
            .filter(e -> eventIds.contains(e.getKey()) && e.getValue() > 1)
            .count();
    return new DrillReport(
        events.answered() + ingestAccepted.get(),
        published,
        ingestRetries.sum(),
        Map.copyOf(ingestFailures),
        ledgers.rawRecords(),
        ledgers.outcomeCount(),
        ledgers.rawRecords() - perRaw.size(),
        several,
        ledgers.events().size(),
        perEvent.keySet().stream().filter(eventIds::contains).count(),
        unscored,
        scoredTwice,
        predicts.sent(),
        predicts.failed(),
        retries.sum(),
        Map.copyOf(failures),
        tiles.compared(),
        tiles.differences(),
        faults);
  }

  private record Tiles(long compared, String differences) {}

  /**
   * Every view's committed tiles that start after the load began against the core's replay of the
   * whole events log (earlier events make the state those tiles are computed from), until they are
   * equal — the ETL catches up after the last fault — or three minutes have passed.
   */
  private Tiles compareTiles(Map<String, Object> client) {
    FeatureSpec spec = cluster.featureSpec();
    Replay replay = Replay.finalRowsOnly(spec, SOURCE);
    TilesVsReplay.replay(client, SOURCE, List.of(replay));
    LongPredicate fromLoad = start -> start >= loadStartedMs;
    Instant deadline = clock.instant().plus(Duration.ofMinutes(3));
    while (true) {
      long compared = 0;
      List<String> differences = new ArrayList<>();
      for (String view : spec.views().keySet()) {
        Map<String, FeatureRow> expected = TilesVsReplay.replayed(replay, view, fromLoad);
        compared += expected.size();
        String difference =
            TilesVsReplay.difference(TilesVsReplay.committed(client, view, fromLoad), expected);
        if (!difference.isEmpty()) {
          differences.add(view + ": " + difference);
        }
      }
      if (differences.isEmpty() || clock.instant().isAfter(deadline)) {
        return new Tiles(compared, String.join("; ", differences));
      }
      pause(Duration.ofSeconds(5));
    }
  }

  private static KafkaProducer<String, byte[]> producer(String bootstrap) {
    Map<String, Object> props = new HashMap<>();
    props.putAll(KafkaClients.config(bootstrap));
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000);
    return new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
  }

  private static OpenLoop produceLoad(KafkaProducer<String, byte[]> producer, Plan plan) {
    PaymentsGenerator generator =
        new PaymentsGenerator(GeneratorConfig.defaults(plan.seed()), Clock.systemUTC());
    return OpenLoop.start(
        "drill-events",
        plan.eventsPerSecond(),
        (i, answered, failed) -> {
          GeneratedEvent event = generator.next();
          producer.send(
              new ProducerRecord<>("raw." + SOURCE, event.key(), event.json()),
              (metadata, error) -> {
                if (error == null) {
                  answered.run();
                } else {
                  failed.run();
                }
              });
        });
  }

  private OpenLoop predictLoad(Channel channel, Plan plan) {
    ScoringGrpc.ScoringStub stub = ScoringGrpc.newStub(channel);
    SplittableRandom random = new SplittableRandom(plan.seed());
    return OpenLoop.start(
        "drill-predict",
        plan.predictsPerSecond(),
        (i, answered, failed) ->
            predict(
                stub.withDeadlineAfter(plan.predictDeadline().toMillis(), TimeUnit.MILLISECONDS),
                request("u" + random.nextInt(1, 3_000), Math.exp(3.4 + random.nextGaussian())),
                answered,
                failed));
  }

  /**
   * One Predict within the stub's deadline; the failover channel retries and, if it must, sends it
   * once more.
   */
  private void predict(
      ScoringGrpc.ScoringStub stub, PredictRequest request, Runnable answered, Runnable failed) {
    // Wait for ready: while no node is ready (one killed, the other between two health checks),
    // a call waits within its deadline instead of failing at once.
    stub.withWaitForReady()
        .predict(
            request,
            new StreamObserver<PredictResponse>() {
              @Override
              public void onNext(PredictResponse value) {}

              @Override
              public void onError(Throwable t) {
                Status status = Status.fromThrowable(t);
                if (failures.merge(status.getCode().name(), 1L, Long::sum) == 1) {
                  // The first of each kind, for the post-mortem; the report has the counts.
                  progress.accept(
                      "first Predict failed " + status.getCode() + ": " + status.getDescription());
                }
                failed.run();
              }

              @Override
              public void onCompleted() {
                answered.run();
              }
            });
  }

  /**
   * Payments through the gateways, one unary PublishBatch each: the failover channel retries a call
   * whose gateway died and, if it must, sends it once more. An event the gateway rejects itself is
   * answered too (its dead letter is the gateway's).
   */
  private OpenLoop ingestLoad(Channel channel, Plan plan) {
    if (plan.ingestPerSecond() == 0) {
      return OpenLoop.start("drill-ingest", 1, 0, (i, answered, failed) -> answered.run());
    }
    IngestGrpc.IngestStub stub = IngestGrpc.newStub(channel);
    PaymentsGenerator generator =
        new PaymentsGenerator(GeneratorConfig.defaults(plan.seed() + 1), Clock.systemUTC());
    return OpenLoop.start(
        "drill-ingest",
        plan.ingestPerSecond(),
        (i, answered, failed) ->
            // A gateway answers once Kafka has the event: while a broker's partitions move to new
            // leaders that takes longer than a Predict may (the broker's session timeout is 9 s).
            stub.withDeadlineAfter(30, TimeUnit.SECONDS)
                .withWaitForReady()
                .publishBatch(
                    PublishBatchRequest.newBuilder()
                        .addEvents(
                            PublishRequest.newBuilder()
                                .setSource(SOURCE)
                                .setPayload(ByteString.copyFrom(generator.next().json())))
                        .build(),
                    new StreamObserver<PublishBatchResponse>() {
                      @Override
                      public void onNext(PublishBatchResponse value) {
                        ingestAccepted.addAndGet(value.getAcceptedCount());
                      }

                      @Override
                      public void onError(Throwable t) {
                        ingestFailures.merge(
                            Status.fromThrowable(t).getCode().name(), 1L, Long::sum);
                        failed.run();
                      }

                      @Override
                      public void onCompleted() {
                        answered.run();
                      }
                    }));
  }

  /** Both nodes have loaded the model: a Predict through each answers. */
  private void awaitPredictServes(Channel channel) {
    ScoringGrpc.ScoringBlockingStub stub = ScoringGrpc.newBlockingStub(channel);
    Instant deadline = clock.instant().plus(Duration.ofMinutes(2));
    int answered = 0;
    while (answered < 10) {
      try {
        stub.withDeadlineAfter(5, TimeUnit.SECONDS).predict(request("u1", 10));
        answered++;
      } catch (StatusRuntimeException e) {
        answered = 0;
        if (clock.instant().isAfter(deadline)) {
          throw new ClusterException(
              "the scoring nodes do not serve " + MODEL + ":prod (" + e.getStatus() + ")");
        }
        pause(Duration.ofMillis(500));
      }
    }
  }

  private static PredictRequest request(String user, double amount) {
    return PredictRequest.newBuilder()
        .setModel(ModelRef.newBuilder().setName(MODEL))
        .putEntityIds("user_id", user)
        .putRequestFeatures("amount", Value.newBuilder().setDoubleValue(amount).build())
        .build();
  }

  private static long predictFailed(OpenLoop loop) {
    return loop.failedSoFar();
  }

  /**
   * Counts every attempt after a call's first, seen by a stream tracer: gRPC's own retries, and a
   * call the failover channel sent once more.
   */
  private static ClientInterceptor countRetries(LongAdder retries) {
    ClientStreamTracer.Factory factory =
        new ClientStreamTracer.Factory() {
          @Override
          public ClientStreamTracer newClientStreamTracer(
              ClientStreamTracer.StreamInfo info, Metadata headers) {
            if (info.getPreviousAttempts() > 0
                || info.getCallOptions().getOption(FailoverChannels.RESENT)) {
              retries.increment();
            }
            return new ClientStreamTracer() {};
          }
        };
    return new ClientInterceptor() {
      @Override
      public <Q, A> ClientCall<Q, A> interceptCall(
          MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
        return next.newCall(method, options.withStreamTracerFactory(factory));
      }
    };
  }

  private static void pause(Duration duration) {
    try {
      Thread.sleep(duration.toMillis()); // the drill's own pacing: load runs meanwhile
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ClusterException("the drill was interrupted", e);
    }
  }
}
