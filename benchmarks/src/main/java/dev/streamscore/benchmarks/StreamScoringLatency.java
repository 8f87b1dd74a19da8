package dev.streamscore.benchmarks;

import dev.streamscore.etl.EventValidator;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.etl.Validation;
import dev.streamscore.ingest.generator.GeneratorConfig;
import dev.streamscore.ingest.generator.PaymentsGenerator;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.launcher.EtlProcess;
import dev.streamscore.modelsync.ModelAlias;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.RegistryServer;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.Supervised;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.scoring.ScoringNode;
import dev.streamscore.scoring.ScoringNodeConfig;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;

/**
 * Stream scoring's latency and CPU as the platform runs it: the embedded broker, the Flink ETL job
 * in its child JVM feeding the node's store, a registry, and a scoring node with stream scoring on
 * a six-input model (counts, a sum, distinct merchants, a max, the daily count, the request's
 * amount). Valid payments (the {@code produce} generator, event time = now) are appended to {@code
 * events.payments} open loop at a fixed rate; each is timed from its scheduled append until a
 * {@code read_committed} consumer reads its prediction (HdrHistogram). The first seconds warm up
 * and are not measured. CPU: the stream scoring threads' CPU time (Kafka Streams' stream, producer
 * and consumer threads, found by the application id) over the measured events.
 *
 * <p>{@code no-etl} leaves the Flink job out: stream scoring alone on the two cores (it no longer
 * reads the store; before the log-order rule it then read an empty one).
 *
 * <p>{@code java -Xmx3g -cp benchmarks/target/streamscore-benchmarks.jar
 * dev.streamscore.benchmarks.StreamScoringLatency [rate=2000] [seconds=30] [warmup=10]
 * [etl|no-etl]}
 */
public final class StreamScoringLatency {
  private static final FeatureSpec SPEC = FeatureSpec.shippedPayments();
  private static final String EVENTS = TopicNames.events("payments");

  private StreamScoringLatency() {}

  public static void main(String[] args) throws Exception {
    int rate = args.length > 0 ? Integer.parseInt(args[0]) : 2_000;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 30;
    int warmupSeconds = args.length > 2 ? Integer.parseInt(args[2]) : 10;
    Path dir = Files.createTempDirectory("stream-scoring-bench");
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults())) {
      EtlThroughput.createTopics(kafka);
      String bootstrap = kafka.bootstrapServers();
      boolean withEtl = args.length <= 3 || !args[3].equals("no-etl");
      try (AutoCloseable etl =
              withEtl
                  ? EtlProcess.startFlink(
                      bootstrap,
                      dir.resolve("etl"),
                      Optional.empty(),
                      List.of(),
                      Duration.ofMinutes(3))
                  : () -> {};
          RegistryServer registry =
              RegistryServer.start(
                  ServerTransport.loopback(0),
                  dir.resolve("registry"),
                  Optional.empty(),
                  Clock.systemUTC());
          ScoringNode node =
              ScoringNode.start(
                  ScoringNodeConfig.of(
                          "bench", dir.resolve("node"), Optional.of(bootstrap), registry.address())
                      .withStreamScoring(Optional.of(new ModelAlias("fraud", "prod"))),
                  SPEC,
                  ScoringNode.Wiring.of(
                      ServerTransport.loopback(0), new PrometheusRegistry(), Clock.systemUTC()))) {
        register(registry.address(), dir);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (node.streamScoringStatus().orElseThrow().state() != Supervised.State.RUNNING) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException(
                "stream scoring did not start: " + node.streamScoringStatus().orElseThrow());
          }
          Thread.sleep(100); // the agent loads the model, then stream scoring starts
        }
        String applicationId = node.streamScoringConfig().orElseThrow().applicationId();
        run(
            kafka,
            applicationId,
            () -> node.streamScoringCounts().scored(),
            rate,
            seconds,
            warmupSeconds);
        System.out.printf(Locale.ROOT, "stream scoring counts: %s%n", node.streamScoringCounts());
      }
    } finally {
      Utils.delete(dir.toFile());
    }
  }

  /** The six-input model: stored features of both views and the request's amount. */
  private static void register(String registryAddress, Path dir) throws Exception {
    ModelVersionSpec.Builder spec =
        ModelVersionSpec.newBuilder().setName("fraud").setFormat(ModelFormat.MODEL_FORMAT_ONNX);
    for (String f : List.of("txn_count_10m", "amount_sum_1h", "merchants_1h", "amount_max_10m")) {
      spec.addInputs(
          ModelInput.newBuilder()
              .setName("user_txn:" + f)
              .setView("user_txn")
              .setDefaultValue(f.startsWith("amount_max") ? -1 : 0));
    }
    spec.addInputs(
        ModelInput.newBuilder().setName("user_daily:txn_count_1d").setView("user_daily"));
    spec.addInputs(ModelInput.newBuilder().setName("amount"));
    spec.addOutputs(ModelOutput.newBuilder().setName("p0"));
    spec.addOutputs(ModelOutput.newBuilder().setName("p1"));
    ManagedChannel channel = NettyChannelBuilder.forTarget(registryAddress).usePlaintext().build();
    try {
      RegistryClient client = new RegistryClient(channel, Optional.empty(), "bench");
      client.register(TestModels.logisticRegression(dir.resolve("m.onnx"), 6, 1), spec.build());
      client.promote("fraud", "prod", 1);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static void run(
      EmbeddedKafka kafka,
      String applicationId,
      java.util.function.LongSupplier scored,
      int rate,
      int seconds,
      int warmupSeconds)
      throws Exception {
    int warmup = rate * warmupSeconds;
    int total = warmup + rate * seconds;
    Map<String, Long> scheduledById = new ConcurrentHashMap<>();
    Histogram histogram = new Histogram(TimeUnit.MINUTES.toMicros(2), 3);
    // The same, by five seconds of the schedule: does the latency stay put or grow?
    Histogram[] byFiveSeconds = new Histogram[(seconds + 4) / 5];
    for (int b = 0; b < byFiveSeconds.length; b++) {
      byFiveSeconds[b] = new Histogram(TimeUnit.MINUTES.toMicros(2), 2);
    }
    long[] measuredFrom = {Long.MAX_VALUE};
    AtomicLong read = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    Thread reader =
        new Thread(
            () -> {
              try (KafkaConsumer<byte[], byte[]> consumer = consumer(kafka)) {
                List<TopicPartition> partitions = new ArrayList<>();
                for (var p : consumer.partitionsFor(TopicNames.predictions("fraud"))) {
                  partitions.add(new TopicPartition(p.topic(), p.partition()));
                }
                consumer.assign(partitions);
                consumer.seekToBeginning(partitions);
                while (!stop.get()) {
                  for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(20))) {
                    long now = System.nanoTime();
                    Long scheduled =
                        scheduledById.remove(Prediction.parseFrom(r.value()).getEventId());
                    if (scheduled != null && scheduled >= 0) {
                      long us = Math.max(0, TimeUnit.NANOSECONDS.toMicros(now - scheduled));
                      histogram.recordValue(us);
                      int bucket = (int) ((scheduled - measuredFrom[0]) / 5_000_000_000L);
                      if (bucket >= 0 && bucket < byFiveSeconds.length) {
                        byFiveSeconds[bucket].recordValue(us);
                      }
                    }
                    read.incrementAndGet();
                  }
                }
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            },
            "prediction-reader");
    reader.start();
    // Generated before the clock starts (the generator and the validator's JSON parsing would
    // otherwise take a core from what is measured), event times spaced as they will be sent.
    long generatedFromMs = System.currentTimeMillis();
    long[] planned = {0};
    PaymentsGenerator generator =
        new PaymentsGenerator(
            GeneratorConfig.defaults(7).withRates(0, 0, 0.01),
            () -> java.time.Instant.ofEpochMilli(generatedFromMs + planned[0] * 1_000L / rate));
    EventValidator validator =
        new EventValidator(
            SPEC.source("payments").orElseThrow(),
            Clock.offset(Clock.systemUTC(), Duration.ofMinutes(5)));
    Event[] events = new Event[total];
    for (int i = 0; i < total; i++) {
      planned[0] = i;
      while (events[i] == null) {
        if (validator.validate(
                generator.next().json(), new RecordOrigin(TopicNames.raw("payments"), 0, i))
            instanceof Validation.Valid valid) {
          events[i] = valid.event();
        }
      }
    }
    long interval = 1_000_000_000L / rate;
    long start = System.nanoTime() + 100_000_000L;
    measuredFrom[0] = start + warmup * (1_000_000_000L / rate);
    // Event times move with the send schedule: each keeps its offset from its planned time.
    long shiftMs = System.currentTimeMillis() + 100 - generatedFromMs;
    long cpuStart = 0;
    long sendStart = 0;
    try (KafkaProducer<byte[], byte[]> producer = producer(kafka)) {
      for (int i = 0; i < total; i++) {
        long scheduled = start + i * interval;
        if (i % (rate * 5) == 0) {
          System.out.printf(
              Locale.ROOT,
              "%,d s: sent %,d, scored %,d, read %,d%n",
              i / rate,
              i,
              scored.getAsLong(),
              read.get());
        }
        if (i == warmup) {
          cpuStart = streamCpuNanos(applicationId);
          sendStart = System.nanoTime();
        }
        Event event =
            events[i].toBuilder().setEventTimeMs(events[i].getEventTimeMs() + shiftMs).build();
        // Open loop: the schedule does not wait for predictions. Parked, not spun: a spinning
        // sender would take one of the two cores from what is measured.
        for (long wait = scheduled - System.nanoTime();
            wait > 0;
            wait = scheduled - System.nanoTime()) {
          LockSupport.parkNanos(wait);
        }
        // Warm-up events are read but not timed.
        scheduledById.put(event.getEventId(), i < warmup ? -1L : scheduled);
        producer.send(
            new ProducerRecord<>(
                EVENTS, event.getEntityId().getBytes(StandardCharsets.UTF_8), event.toByteArray()));
      }
    }
    double achieved = (double) (total - warmup) / ((System.nanoTime() - sendStart) / 1e9);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (read.get() < total && System.nanoTime() < deadline) {
      Thread.sleep(50); // the last predictions commit within a commit interval
    }
    long cpu = streamCpuNanos(applicationId) - cpuStart;
    stop.set(true);
    reader.join();
    long measured = total - warmup;
    System.out.printf(
        Locale.ROOT,
        "stream scoring at %,d events/s open loop (achieved %,.0f), %,d measured, %,d of %,d"
            + " predictions read: event appended -> prediction readable (read_committed) p50 %.1f"
            + " ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms; stream scoring CPU %.2f s ="
            + " %.1f CPU-seconds per million events%n",
        rate,
        achieved,
        measured,
        read.get(),
        total,
        histogram.getValueAtPercentile(50) / 1000.0,
        histogram.getValueAtPercentile(99) / 1000.0,
        histogram.getValueAtPercentile(99.9) / 1000.0,
        histogram.getMaxValue() / 1000.0,
        cpu / 1e9,
        cpu / 1e9 / measured * 1e6);
    StringBuilder series = new StringBuilder("p50 by five seconds of the schedule (ms):");
    for (Histogram h : byFiveSeconds) {
      series.append(String.format(Locale.ROOT, " %.0f", h.getValueAtPercentile(50) / 1000.0));
    }
    System.out.println(series);
  }

  /** CPU time of the threads Kafka Streams runs stream scoring on (named by its client id). */
  private static long streamCpuNanos(String applicationId) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long sum = 0;
    for (var info : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (info != null && info.getThreadName().contains(applicationId)) {
        long t = threads.getThreadCpuTime(info.getThreadId());
        if (t > 0) {
          sum += t;
        }
      }
    }
    return sum;
  }

  private static KafkaProducer<byte[], byte[]> producer(EmbeddedKafka kafka) {
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5); // as a producer does; the latency counts it
    return new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
  }

  private static KafkaConsumer<byte[], byte[]> consumer(EmbeddedKafka kafka) {
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }
}
