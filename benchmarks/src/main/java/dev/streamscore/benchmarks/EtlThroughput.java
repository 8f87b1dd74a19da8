package dev.streamscore.benchmarks;

import dev.streamscore.etl.EventValidator;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.etl.SourceSpec;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.etl.Validation;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.ingest.generator.GeneratedEvent;
import dev.streamscore.ingest.generator.GeneratorConfig;
import dev.streamscore.ingest.generator.PaymentsGenerator;
import dev.streamscore.kafka.Topics;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.launcher.EtlProcess;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.Value;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
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
 * The ETL jobs of both engines, deployed as {@code streamscore up} deploys them (Flink: its jar on
 * a MiniCluster in a child JVM, RocksDB or heap state, exactly-once sink; Spark: its jar on
 * local[2] in a child JVM, at-least-once sink), against the embedded broker in this JVM, on the
 * same events:
 *
 * <ol>
 *   <li><b>Throughput</b>: N validated payments events (the shipped spec, the {@code produce}
 *       generator, event time advancing 2 ms per event) in {@code events.payments}; the job runs
 *       bounded from the first to the last, and its time runs from "running" to "done"; the job's
 *       CPU-seconds are read when it prints its counts. In the same run, the ceiling: a plain
 *       {@link KafkaConsumer} reading the same records.
 *   <li><b>Latency</b>: a fresh broker and job; events sent open loop at a fixed rate, each for a
 *       new entity, so each yields exactly one tile row per view; latency runs from an event's
 *       scheduled send time until a read_committed consumer sees its {@code user_txn} row. Flink
 *       once with the exactly-once sink (rows appear when the checkpoint that covers them commits),
 *       once at-least-once; Spark at-least-once (rows appear when their micro-batch is written).
 * </ol>
 *
 * <pre>
 * java -Xmx2g -cp benchmarks/target/streamscore-benchmarks.jar \
 *     dev.streamscore.benchmarks.EtlThroughput [events=1000000] [rate=5000] [seconds=20]
 * </pre>
 *
 * <p>{@code -Detl.engines=spark} runs one engine only; {@code -Detl.backends=rocksdb} one Flink
 * state backend only, {@code -Detl.sparkStores=memory} one Spark state store only; {@code
 * -Detl.deliveries=at-least-once} one Flink sink of the latency runs only; {@code
 * -Detl.warmupSeconds=N} leaves the first N seconds of the latency runs unmeasured (default 20: a
 * job just started is still catching up with what was sent while it deployed its tasks and its code
 * was interpreted, which the per-second medians show); {@code -Detl.flinkArgs="..."} and {@code
 * -Detl.sparkArgs="..."} add options to a job's command line; {@code -Detl.skipLatency=true} skips
 * the latency runs (for a profiler on the job: {@code STREAMSCORE_ETL_JAVA_OPTS}).
 */
public final class EtlThroughput {
  private static final String EVENTS = TopicNames.events("payments");

  private static final Duration TIMEOUT = Duration.ofMinutes(10);
  private static final FeatureSpec SPEC = FeatureSpec.shippedPayments();

  public static void main(String[] args) throws Exception {
    int events = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    int rate = args.length > 1 ? Integer.parseInt(args[1]) : 5_000;
    int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 20;
    Path work = Files.createTempDirectory("etl-bench");

    try {
      System.out.printf(Locale.ROOT, "generating %,d events...%n", events);
      List<Event> generated = generate(events);
      try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults())) {
        createTopics(kafka);
        produce(kafka, generated);
        generated = null; // let the heap breathe during the runs

        double ceiling = plainConsumerRate(kafka, events);
        System.out.printf(Locale.ROOT, "plain KafkaConsumer read: %,.0f events/s%n", ceiling);
        List<String> engines = List.of(System.getProperty("etl.engines", "flink,spark").split(","));
        if (engines.contains("flink")) {
          for (String backend : System.getProperty("etl.backends", "rocksdb,hashmap").split(",")) {
            throughput(
                kafka,
                "flink",
                work.resolve("throughput-" + backend),
                List.of("--bounded", "--parallelism", "2", "--state-backend", backend),
                "flink job (" + backend + " state, exactly-once)",
                events,
                ceiling);
          }
        }
        if (engines.contains("spark")) {
          for (String store : System.getProperty("etl.sparkStores", "rocksdb,memory").split(",")) {
            throughput(
                kafka,
                "spark",
                work.resolve("throughput-spark-" + store),
                List.of("--bounded", "--state-store", store),
                "spark job (local[2], " + store + " state, at-least-once)",
                events,
                ceiling);
          }
        }
      }
      List<String> engines = List.of(System.getProperty("etl.engines", "flink,spark").split(","));
      for (String engine : Boolean.getBoolean("etl.skipLatency") ? List.<String>of() : engines) {
        List<Boolean> deliveries =
            engine.equals("flink")
                ? List.of(
                        System.getProperty("etl.deliveries", "exactly-once,at-least-once")
                            .split(","))
                    .stream()
                    .map("exactly-once"::equals)
                    .toList()
                : List.of(false);
        for (boolean exactlyOnce : deliveries) {
          try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults())) {
            createTopics(kafka);
            latency(
                kafka,
                engine,
                work.resolve("latency-" + engine + "-" + exactlyOnce),
                exactlyOnce,
                rate,
                seconds);
          }
        }
      }

    } finally {
      Utils.delete(work.toFile()); // checkpoints and job state of every run
    }
  }

  private static EtlProcess start(
      EmbeddedKafka kafka, String engine, Path work, List<String> jobArgs) {
    List<String> args = new ArrayList<>(jobArgs);
    String extra = System.getProperty("etl." + engine + "Args", "").strip();
    if (!extra.isEmpty()) {
      args.addAll(List.of(extra.split("\\s+")));
    }
    return engine.equals("spark")
        ? EtlProcess.startSpark(
            kafka.bootstrapServers(), work, Optional.empty(), args, Duration.ofMinutes(3))
        : EtlProcess.startFlink(
            kafka.bootstrapServers(), work, Optional.empty(), args, Duration.ofMinutes(3));
  }

  /** One bounded run over every event: events/s while running, and the job's CPU-seconds. */
  private static void throughput(
      EmbeddedKafka kafka,
      String engine,
      Path work,
      List<String> args,
      String label,
      int events,
      double ceiling)
      throws Exception {
    long began = System.nanoTime();
    EtlProcess job = start(kafka, engine, work, args);
    long running = System.nanoTime();
    String done;
    Optional<Duration> cpu;
    try (job) {
      done = job.awaitDone(TIMEOUT);
      cpu = job.cpuAtDone();
    }
    long finished = System.nanoTime();
    double secondsRunning = (finished - running) / 1e9;
    System.out.printf(
        Locale.ROOT,
        "%s: %,.0f events/s over %.1f s running (%.1f s with JVM and engine start) = %.2f of the"
            + " plain consumer; %s CPU-seconds in all, %s per million events; %s%n",
        label,
        events / secondsRunning,
        secondsRunning,
        (finished - began) / 1e9,
        events / secondsRunning / ceiling,
        cpu.map(d -> String.format(Locale.ROOT, "%.1f", d.toMillis() / 1000.0)).orElse("?"),
        cpu.map(d -> String.format(Locale.ROOT, "%.1f", d.toMillis() / 1000.0 / events * 1e6))
            .orElse("?"),
        done);
  }

  /** N validated payments events, event time advancing 2 ms per event. */
  static List<Event> generate(int n) {
    SourceSpec payments = SPEC.source("payments").orElseThrow();
    long[] now = {Instant.parse("2026-11-24T00:00:00Z").toEpochMilli()};
    InstantSource simulated = () -> Instant.ofEpochMilli(now[0] += 2);
    PaymentsGenerator generator =
        new PaymentsGenerator(GeneratorConfig.defaults(4).withRates(0, 0.01, 0.02), simulated);
    // The validator's clock is the generator's: events arrive as they happen, inside the source's
    // event-time window (a clock at the epoch rejected every one of them).
    InstantSource current = () -> Instant.ofEpochMilli(now[0]);
    EventValidator validator = new EventValidator(payments, current.withZone(ZoneOffset.UTC));
    List<Event> out = new ArrayList<>(n);
    for (long attempts = 0; out.size() < n; attempts++) {
      if (attempts > 2L * n) {
        throw new IllegalStateException(
            "the validator accepted only " + out.size() + " of " + attempts + " generated events");
      }
      GeneratedEvent g = generator.next();
      if (validator.validate(g.json(), new RecordOrigin(TopicNames.raw("payments"), 0, out.size()))
          instanceof Validation.Valid valid) {
        out.add(valid.event());
      }
    }
    return out;
  }

  /** The events, dead-letter and feature topics, 4 partitions each. */
  static void createTopics(EmbeddedKafka kafka) {
    List<NewTopic> topics = new ArrayList<>();
    topics.add(new NewTopic(EVENTS, 4, (short) 1));
    topics.add(new NewTopic(TopicNames.DLQ, 4, (short) 1));
    for (ViewSpec view : SPEC.views().values()) {
      topics.add(new NewTopic(view.topic(), 4, (short) 1));
    }
    try (Admin admin = Admin.create(kafka.clientProperties())) {
      Topics.using(admin).ensure(topics, Duration.ofSeconds(60));
    }
  }

  /** One payment of {@code entity}, event id {@code e<i>}, at the current time. */
  static void sendNew(KafkaProducer<byte[], byte[]> producer, String entity, long i) {
    Event e =
        Event.newBuilder()
            .setSource("payments")
            .setEntityId(entity)
            .setEventId("e" + i)
            .setEventTimeMs(System.currentTimeMillis())
            .putFields("amount", Value.newBuilder().setDoubleValue(10 + i % 100).build())
            .putFields("merchant_id", Value.newBuilder().setStringValue("m" + i % 50).build())
            .build();
    producer.send(
        new ProducerRecord<>(EVENTS, entity.getBytes(StandardCharsets.UTF_8), e.toByteArray()));
  }

  static KafkaProducer<byte[], byte[]> producer(EmbeddedKafka kafka, int lingerMs) {
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.LINGER_MS_CONFIG, lingerMs);
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, 262_144);
    return new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
  }

  private static void produce(EmbeddedKafka kafka, List<Event> events) {
    try (KafkaProducer<byte[], byte[]> producer = producer(kafka, 5)) {
      for (Event e : events) {
        producer.send(
            new ProducerRecord<>(
                EVENTS, e.getEntityId().getBytes(StandardCharsets.UTF_8), e.toByteArray()));
      }
      producer.flush();
    }
  }

  static KafkaConsumer<byte[], byte[]> consumer(EmbeddedKafka kafka) {
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5_000);
    return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  /**
   * Reads every record and parses it, as the job must: the rate any consumer of it is capped at.
   */
  private static double plainConsumerRate(EmbeddedKafka kafka, int expected) throws Exception {
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(kafka)) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (int p = 0; p < 4; p++) {
        partitions.add(new TopicPartition(EVENTS, p));
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      long began = System.nanoTime();
      long read = 0;
      long checksum = 0;
      while (read < expected) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          checksum += Event.parseFrom(r.value()).getEventTimeMs();
          read++;
        }
      }
      double rate = read / ((System.nanoTime() - began) / 1e9);
      if (checksum == 42) {
        System.out.print(""); // keeps the parse from being optimized away
      }
      return rate;
    }
  }

  private static void latency(
      EmbeddedKafka kafka, String engine, Path work, boolean exactlyOnce, int rate, int seconds)
      throws Exception {
    List<String> args = new ArrayList<>();
    if (engine.equals("flink")) {
      args.addAll(List.of("--parallelism", "2"));
      if (!exactlyOnce) {
        args.addAll(List.of("--delivery", "at-least-once"));
      }
    }
    int warmup = rate * Integer.getInteger("etl.warmupSeconds", 20);
    int total = warmup + rate * seconds;
    long[] scheduled = new long[total];
    Histogram histogram = new Histogram(TimeUnit.MINUTES.toMicros(1), 3);
    Histogram[] perSecond = new Histogram[(total + rate - 1) / rate];
    for (int s = 0; s < perSecond.length; s++) {
      perSecond[s] = new Histogram(TimeUnit.MINUTES.toMicros(1), 2);
    }
    Histogram toEmit = new Histogram(TimeUnit.MINUTES.toMicros(1), 2);
    Histogram fromEmit = new Histogram(TimeUnit.MINUTES.toMicros(1), 2);
    long wallAtStart = System.currentTimeMillis();
    long nanoAtStart = System.nanoTime();
    AtomicLong seen = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    try (EtlProcess job = start(kafka, engine, work, args)) {
      Thread reader =
          new Thread(
              () -> {
                try (KafkaConsumer<byte[], byte[]> consumer = consumer(kafka)) {
                  List<TopicPartition> partitions = new ArrayList<>();
                  for (int p = 0; p < 4; p++) {
                    partitions.add(new TopicPartition(TopicNames.features("user_txn"), p));
                  }
                  consumer.assign(partitions);
                  consumer.seekToBeginning(partitions);
                  while (!stop.get()) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(50))) {
                      long now = System.nanoTime();
                      int i =
                          Integer.parseInt(
                              FeatureRow.parseFrom(r.value()).getEntityId().substring(4));
                      long micros = Math.max(0, TimeUnit.NANOSECONDS.toMicros(now - scheduled[i]));
                      if (i >= warmup) {
                        histogram.recordValue(micros);
                      }
                      perSecond[i / rate].recordValue(micros);
                      if (i >= warmup) {
                        // The row's timestamp is when the job emitted it: before, the way in
                        // and the job's holding; after, the sink, the broker and this reader.
                        long emittedNanos =
                            (r.timestamp() - wallAtStart) * 1_000_000L + nanoAtStart;
                        toEmit.recordValue(
                            Math.max(
                                0, TimeUnit.NANOSECONDS.toMicros(emittedNanos - scheduled[i])));
                        fromEmit.recordValue(
                            Math.max(0, TimeUnit.NANOSECONDS.toMicros(now - emittedNanos)));
                      }
                      seen.incrementAndGet();
                    }
                  }
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              },
              "latency-reader");
      reader.start();
      long intervalNanos = 1_000_000_000L / rate;
      long start = System.nanoTime() + 100_000_000L;
      for (int i = 0; i < total; i++) {
        scheduled[i] = start + i * intervalNanos;
      }
      long sendBegan = System.nanoTime();
      try (KafkaProducer<byte[], byte[]> producer = producer(kafka, 0)) {
        for (int i = 0; i < total; i++) {
          // Open loop: the schedule does not wait for replies. Parked, not spinning: a spinning
          // sender takes one of the two cores the job and the broker need.
          for (long wait; (wait = scheduled[i] - System.nanoTime()) > 0; ) {
            java.util.concurrent.locks.LockSupport.parkNanos(wait);
          }
          sendNew(producer, "lat-" + i, i);
        }
      }
      double achieved = total / ((System.nanoTime() - sendBegan) / 1e9);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (seen.get() < total && System.nanoTime() < deadline) {
        Thread.sleep(100); // waiting for the last rows to be committed
      }
      stop.set(true);
      reader.join();
      System.out.printf(
          Locale.ROOT,
          "%s event-to-feature latency, %s sink, %,d events/s open loop (achieved %,.0f), %,d"
              + " measured (%,d of %,d rows seen): p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max"
              + " %.1f ms%n",
          engine,
          exactlyOnce
              ? "exactly-once (checkpoint 1 s)"
              : engine.equals("spark") ? "at-least-once (trigger 500 ms)" : "at-least-once",
          rate,
          achieved,
          histogram.getTotalCount(),
          seen.get(),
          total,
          histogram.getValueAtPercentile(50) / 1000.0,
          histogram.getValueAtPercentile(99) / 1000.0,
          histogram.getValueAtPercentile(99.9) / 1000.0,
          histogram.getMaxValue() / 1000.0);
      StringBuilder bySecond = new StringBuilder("  p50 by second sent (ms):");
      for (Histogram h : perSecond) {
        bySecond.append(String.format(Locale.ROOT, " %.0f", h.getValueAtPercentile(50) / 1000.0));
      }
      System.out.println(bySecond);
      System.out.printf(
          Locale.ROOT,
          "  send to emit (the job's row timestamp): p50 %.1f ms, p99 %.1f ms; emit to read: p50"
              + " %.1f ms, p99 %.1f ms%n",
          toEmit.getValueAtPercentile(50) / 1000.0,
          toEmit.getValueAtPercentile(99) / 1000.0,
          fromEmit.getValueAtPercentile(50) / 1000.0,
          fromEmit.getValueAtPercentile(99) / 1000.0);
    }
  }
}
