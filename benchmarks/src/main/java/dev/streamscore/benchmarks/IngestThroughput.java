package dev.streamscore.benchmarks;

import com.google.protobuf.ByteString;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.ingest.IngestGateway;
import dev.streamscore.ingest.IngestGatewayConfig;
import dev.streamscore.ingest.IngestPublisher;
import dev.streamscore.ingest.generator.GeneratedEvent;
import dev.streamscore.ingest.generator.GeneratorConfig;
import dev.streamscore.ingest.generator.PaymentsGenerator;
import dev.streamscore.kafka.Topics;
import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.v1.PublishBatchRequest;
import dev.streamscore.proto.v1.PublishRequest;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * gRPC ingest throughput into the embedded broker beside a plain tuned {@link KafkaProducer}
 * sending the same events, in one run, rounds alternating so that both see the same machine.
 *
 * <p>Both paths write the same pre-generated payments events (valid, keyed by user id) with the
 * same producer settings (acks=all, idempotence, linger 5 ms, 256 KiB batches) to 4-partition
 * topics; a path's time runs from its first send until its last acknowledgement. The gateway path
 * adds what a producer gets from it: JSON validation against the spec, a per-event ack over gRPC,
 * and flow control. Client, gateway and broker share this JVM and its 2 cores. The gateway runs
 * twice: {@code Publish} streams (one event per message) and {@code PublishBatch} calls of 1,000
 * events, 4 in flight.
 *
 * <pre>
 * java -Xmx3g -cp benchmarks/target/streamscore-benchmarks.jar \
 *     dev.streamscore.benchmarks.IngestThroughput [events=1000000] [rounds=3] [streams=2]
 * </pre>
 *
 * <p>With {@code -Dprofile.batches} it runs only the {@code PublishBatch} path, {@code rounds}
 * times, for a profiler (JFR) to look at.
 */
public final class IngestThroughput {
  private static final String SOURCE = "payments";
  private static final int BATCH_SIZE = Integer.getInteger("batch.size", 1_000);
  private static final int BATCH_CALLERS = Integer.getInteger("batch.callers", 4);

  public static void main(String[] args) throws Exception {
    int events = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int streams = args.length > 2 ? Integer.parseInt(args[2]) : 2;
    System.setProperty("OPT_OUT_TRACKING", "true");

    PaymentsGenerator generator =
        new PaymentsGenerator(
            GeneratorConfig.defaults(1).withRates(0, 0, 0.02), InstantSource.system());
    byte[][] keys = new byte[events][];
    byte[][] payloads = new byte[events][];
    long bytes = 0;
    for (int i = 0; i < events; i++) {
      GeneratedEvent e = generator.next();
      keys[i] = e.key().getBytes(StandardCharsets.UTF_8);
      payloads[i] = e.json();
      bytes += payloads[i].length;
    }
    System.out.printf(
        Locale.ROOT,
        "ingest throughput: %,d events (mean %d bytes), %d rounds, gateway with %d streams;"
            + " %d cores%n",
        events,
        bytes / events,
        rounds,
        streams,
        Runtime.getRuntime().availableProcessors());

    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults())) {
      try (Admin admin = Admin.create(kafka.clientProperties())) {
        Topics.using(admin)
            .ensure(
                List.of(
                    new NewTopic(TopicNames.raw(SOURCE), 4, (short) 1),
                    new NewTopic("plain." + SOURCE, 4, (short) 1),
                    new NewTopic(TopicNames.DLQ, 4, (short) 1)),
                Duration.ofSeconds(30));
      }
      IngestGatewayConfig config =
          IngestGatewayConfig.defaults(kafka.bootstrapServers()).withPort(0);
      double[] plain = new double[rounds];
      double[] stream = new double[rounds];
      double[] batch = new double[rounds];
      try (IngestGateway server =
          IngestGateway.start(config, FeatureSpec.shippedPayments(), Clock.systemUTC())) {
        // Warm-up: JIT, connections, topic metadata.
        plain(kafka, keys, payloads, Math.min(events, 100_000));
        gateway(server.address(), payloads, Math.min(events, 100_000), streams);
        batches(server.address(), payloads, Math.min(events, 100_000), BATCH_CALLERS, BATCH_SIZE);
        if (System.getProperty("profile.batches") != null) {
          // For a profiler: the batch path alone, for as long as asked.
          for (int r = 0; r < rounds; r++) {
            batches(server.address(), payloads, events, BATCH_CALLERS, BATCH_SIZE);
          }
          return;
        }
        for (int r = 0; r < rounds; r++) {
          plain[r] = plain(kafka, keys, payloads, events);
          stream[r] = gateway(server.address(), payloads, events, streams);
          batch[r] = batches(server.address(), payloads, events, BATCH_CALLERS, BATCH_SIZE);
          System.out.printf(
              Locale.ROOT,
              "round %d: plain KafkaProducer %,.0f events/s; gateway Publish streams %,.0f"
                  + " (ratio %.2f); gateway PublishBatch %,.0f (ratio %.2f)%n",
              r + 1,
              plain[r],
              stream[r],
              stream[r] / plain[r],
              batch[r],
              batch[r] / plain[r]);
        }
        if (server.counters().get(SOURCE + ".rejected") != 0) {
          throw new IllegalStateException("the gateway rejected valid events");
        }
      }
      double p = median(plain);
      System.out.printf(
          Locale.ROOT,
          "median: plain KafkaProducer %,.0f events/s; gateway Publish (%d streams, one event per"
              + " message) %,.0f events/s, ratio %.2f; gateway PublishBatch (%d events, %d calls in"
              + " flight) %,.0f events/s, ratio %.2f (target >= 0.50)%n",
          p,
          streams,
          median(stream),
          median(stream) / p,
          BATCH_SIZE,
          BATCH_CALLERS,
          median(batch),
          median(batch) / p);
    }
  }

  private static double plain(EmbeddedKafka kafka, byte[][] keys, byte[][] payloads, int n) {
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    props.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 64L << 20);
    AtomicLong acked = new AtomicLong();
    AtomicReference<Exception> error = new AtomicReference<>();
    long start;
    long end;
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      start = System.nanoTime();
      for (int i = 0; i < n; i++) {
        producer.send(
            new ProducerRecord<>("plain." + SOURCE, keys[i], payloads[i]),
            (meta, e) -> {
              if (e == null) {
                acked.incrementAndGet();
              } else {
                error.compareAndSet(null, e);
              }
            });
      }
      producer.flush();
      end = System.nanoTime();
    }
    if (error.get() != null || acked.get() != n) {
      throw new IllegalStateException("plain producer: " + acked.get() + " of " + n, error.get());
    }
    return n * 1e9 / (end - start);
  }

  private static double gateway(String address, byte[][] payloads, int n, int streams)
      throws Exception {
    try (IngestPublisher publisher = IngestPublisher.connect(address)) {
      return inParallel(
          "gateway streams",
          n,
          streams,
          first -> {
            IngestPublisher.Stream stream = publisher.openStream(4_096, ack -> {});
            for (int i = first; i < n; i += streams) {
              stream.send(SOURCE, payloads[i]);
            }
            stream.finish(Duration.ofMinutes(5));
            return stream.accepted();
          });
    }
  }

  private static double batches(String address, byte[][] payloads, int n, int callers, int size)
      throws Exception {
    try (IngestPublisher publisher = IngestPublisher.connect(address)) {
      AtomicInteger next = new AtomicInteger();
      return inParallel(
          "gateway batches",
          n,
          callers,
          caller -> {
            long accepted = 0;
            int from;
            while ((from = next.getAndAdd(size)) < n) {
              PublishBatchRequest.Builder batch = PublishBatchRequest.newBuilder();
              for (int i = from; i < Math.min(n, from + size); i++) {
                batch.addEvents(
                    PublishRequest.newBuilder()
                        .setSequence(i)
                        .setSource(SOURCE)
                        .setPayload(ByteString.copyFrom(payloads[i])));
              }
              accepted +=
                  publisher.publishBatch(batch.build(), Duration.ofMinutes(1)).getAcceptedCount();
            }
            return accepted;
          });
    }
  }

  /** One client thread's work: returns how many events were accepted. */
  private interface Client {
    long run(int index) throws Exception;
  }

  /**
   * Runs {@code threads} clients at once; events per second from the first start to the last end.
   */
  private static double inParallel(String what, int n, int threads, Client client)
      throws InterruptedException {
    List<Thread> started = new ArrayList<>();
    AtomicReference<Throwable> error = new AtomicReference<>();
    AtomicLong accepted = new AtomicLong();
    long start = System.nanoTime();
    for (int t = 0; t < threads; t++) {
      int index = t;
      Thread thread =
          new Thread(
              () -> {
                try {
                  accepted.addAndGet(client.run(index));
                } catch (Throwable e) {
                  error.compareAndSet(null, e);
                }
              },
              "bench-client-" + t);
      started.add(thread);
      thread.start();
    }
    for (Thread t : started) {
      t.join();
    }
    long end = System.nanoTime();
    if (error.get() != null || accepted.get() != n) {
      throw new IllegalStateException(what + ": " + accepted.get() + " of " + n, error.get());
    }
    return n * 1e9 / (end - start);
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int m = sorted.length / 2;
    return sorted.length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
  }
}
