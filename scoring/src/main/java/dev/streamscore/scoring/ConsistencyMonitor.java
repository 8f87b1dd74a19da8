package dev.streamscore.scoring;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.modelsync.Lease;
import dev.streamscore.modelsync.ModelUnavailableException;
import dev.streamscore.modelsync.SyncAgent;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.Prediction;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a {@link ConsistencySampler} beside stream scoring: once stream scoring has started, one
 * thread reading {@code events.<source>} and {@code predictions.<model>} from their beginnings
 * ({@code read_committed}, no consumer group). Close stops the thread, then the consumers.
 */
final class ConsistencyMonitor implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ConsistencyMonitor.class);

  private final Thread thread;
  private volatile boolean closed;
  private final String bootstrap;
  // Made by the thread once stream scoring has started: a platform without a model has none.
  private volatile KafkaConsumer<byte[], byte[]> events;
  private volatile KafkaConsumer<byte[], byte[]> predictions;

  ConsistencyMonitor(
      String bootstrap,
      String eventsTopic,
      String predictionsTopic,
      ConsistencySampler sampler,
      SyncAgent agent,
      String model,
      java.util.function.BooleanSupplier started) {
    this.bootstrap = bootstrap;
    Map<Long, ModelVersionSpec> specs = new HashMap<>();
    java.util.function.LongFunction<ModelVersionSpec> versions =
        v ->
            specs.computeIfAbsent(
                v,
                k -> {
                  try (Lease lease = agent.acquirePinned(model, k)) {
                    return lease.metadata().getSpec();
                  } catch (ModelUnavailableException e) {
                    return null; // not loaded here: that prediction is not compared
                  }
                });
    this.thread =
        new Thread(
            () -> {
              try {
                // Nothing to check until stream scoring has a version to score with.
                while (!closed && !started.getAsBoolean()) {
                  TimeUnit.MILLISECONDS.sleep(250);
                }
                synchronized (this) {
                  if (closed) {
                    return;
                  }
                  events = consumer(bootstrap);
                  predictions = consumer(bootstrap);
                }
                assignFromStart(events, eventsTopic);
                assignFromStart(predictions, predictionsTopic);
                while (!closed) {
                  for (ConsumerRecord<byte[], byte[]> r : events.poll(Duration.ofMillis(100))) {
                    Event e = parse(r.value(), Event.parser());
                    if (e != null) {
                      sampler.onEvent(
                          new RecordOrigin(r.topic(), r.partition(), r.offset()), e, versions);
                    }
                  }
                  for (ConsumerRecord<byte[], byte[]> r :
                      predictions.poll(Duration.ofMillis(100))) {
                    Prediction p = parse(r.value(), Prediction.parser());
                    if (p != null) {
                      sampler.onPrediction(p, versions);
                    }
                  }
                }
              } catch (WakeupException | InterruptException e) {
                // closing
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } catch (RuntimeException e) {
                LOG.warn("consistency monitor stopped: {}", e.toString());
              }
            },
            "consistency-monitor");
    thread.setDaemon(true);
    thread.start();
  }

  private static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
    return new KafkaConsumer<>(
        KafkaClients.config(
            bootstrap,
            Map.of(
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
                false)),
        new ByteArrayDeserializer(),
        new ByteArrayDeserializer());
  }

  /** Assigns every partition (waiting until the topic exists) and starts at the beginning. */
  private void assignFromStart(KafkaConsumer<byte[], byte[]> consumer, String topic)
      throws InterruptedException {
    while (!closed) {
      var infos = consumer.partitionsFor(topic, Duration.ofSeconds(5));
      if (infos != null && !infos.isEmpty()) {
        List<TopicPartition> partitions = new ArrayList<>();
        infos.forEach(i -> partitions.add(new TopicPartition(topic, i.partition())));
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        return;
      }
      TimeUnit.SECONDS.sleep(1); // the topic is created when its first writer starts
    }
  }

  /** A record that is not ours is skipped: the topics are open to any writer. */
  private static <T> T parse(byte[] value, com.google.protobuf.Parser<T> parser) {
    if (value == null) {
      return null;
    }
    try {
      return parser.parseFrom(value);
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  @Override
  public void close() throws InterruptedException {
    synchronized (this) {
      closed = true;
    }
    thread.interrupt();
    if (events != null) {
      events.wakeup();
      predictions.wakeup();
    }
    thread.join(TimeUnit.SECONDS.toMillis(10));
    if (events != null) {
      events.close(Duration.ofSeconds(5));
      predictions.close(Duration.ofSeconds(5));
    }
  }
}
