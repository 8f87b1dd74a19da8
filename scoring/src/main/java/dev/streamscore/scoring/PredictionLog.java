package dev.streamscore.scoring;

import dev.streamscore.etl.TopicNames;
import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.kafka.KafkaOperationException;
import dev.streamscore.kafka.Topics;
import dev.streamscore.kafka.TopicsNotReadyException;
import dev.streamscore.proto.v1.Prediction;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The prediction log: every prediction to {@code predictions.<model>} (key: the first entity id,
 * else the request id; value: the {@code Prediction} protobuf), asynchronously.
 *
 * <p>{@link #publish} only offers to a bounded buffer; one sender thread drains it into a Kafka
 * producer and creates a model's topic the first time it sees the model. A slow or absent broker
 * therefore never blocks serving: when the buffer is full the prediction is dropped and counted
 * ({@link #dropped()}), as are records the producer fails to deliver ({@link #failed()}).
 *
 * <p>Close order: stop taking, drain what is buffered (bounded wait), close the producer, then the
 * admin client.
 */
public final class PredictionLog implements PredictionSink, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PredictionLog.class);
  private static final Prediction STOP = Prediction.getDefaultInstance();

  /** Partitions of a {@code predictions.<model>} topic this log creates. */
  public static final int PARTITIONS = 4;

  private final BlockingQueue<Prediction> buffer;
  private final KafkaProducer<String, byte[]> producer;
  private final Admin admin;
  private final Set<String> topics = new HashSet<>();
  private final AtomicLong published = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicLong sent = new AtomicLong();
  private final Thread sender;
  private volatile boolean closed;

  private PredictionLog(String bootstrap, int capacity) {
    this.buffer = new ArrayBlockingQueue<>(capacity);
    this.producer =
        new KafkaProducer<>(
            KafkaClients.config(
                bootstrap,
                Map.of(
                    ProducerConfig.ACKS_CONFIG,
                    "all",
                    ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
                    true,
                    ProducerConfig.LINGER_MS_CONFIG,
                    5,
                    ProducerConfig.COMPRESSION_TYPE_CONFIG,
                    "lz4",
                    ProducerConfig.CLIENT_ID_CONFIG,
                    "streamscore-prediction-log")),
            new StringSerializer(),
            new ByteArraySerializer());
    this.admin = Admin.create(KafkaClients.config(bootstrap));
    this.sender = new Thread(this::drain, "prediction-log");
    this.sender.setDaemon(true);
  }

  /**
   * Starts a log to the cluster at {@code bootstrap}, buffering at most {@code capacity}
   * predictions.
   */
  public static PredictionLog start(String bootstrap, int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
    }
    PredictionLog log = new PredictionLog(bootstrap, capacity);
    log.sender.start();
    return log;
  }

  /** The topic of a model's predictions. */
  public static String topic(String model) {
    return TopicNames.predictions(model);
  }

  @Override
  public void publish(Prediction prediction) {
    if (closed || !buffer.offer(prediction)) {
      dropped.incrementAndGet();
      return;
    }
    published.incrementAndGet();
  }

  /** Predictions taken into the buffer. */
  public long published() {
    return published.get();
  }

  /** Predictions dropped because the buffer was full (or the log closed). */
  public long dropped() {
    return dropped.get();
  }

  /** Predictions the producer acknowledged. */
  public long sent() {
    return sent.get();
  }

  /** Predictions the producer could not deliver. */
  public long failed() {
    return failed.get();
  }

  private void drain() {
    List<Prediction> batch = new ArrayList<>(512);
    while (true) {
      try {
        Prediction first = buffer.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          if (closed) {
            return;
          }
          continue;
        }
        batch.add(first);
        buffer.drainTo(batch, 511);
        for (Prediction p : batch) {
          if (p == STOP) {
            return;
          }
          send(p);
        }
        batch.clear();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        failed.addAndGet(batch.size());
        batch.clear();
        LOG.warn("prediction log: {}", e.toString());
      }
    }
  }

  private void send(Prediction p) {
    String topic = topic(p.getModelName());
    if (topics.add(topic)) {
      ensureTopic(topic);
    }
    String key =
        p.getEntityIdsCount() > 0
            ? p.getEntityIdsMap().values().iterator().next()
            : p.getRequestId();
    producer.send(
        new ProducerRecord<>(topic, key, p.toByteArray()),
        (metadata, error) -> {
          if (error == null) {
            sent.incrementAndGet();
          } else if (failed.getAndIncrement() == 0) {
            LOG.warn("prediction log: cannot write to {}: {}", topic, error.toString());
          }
        });
  }

  private void ensureTopic(String topic) {
    try {
      // Created, then every partition answering before the first send: a batch sent to a leader
      // still loading its new partition was refused, and the idempotent producer's retries of it
      // then failed on its sequence numbers without end (seen on an embedded 4.x broker).
      Topics.using(admin)
          .ensure(List.of(new NewTopic(topic, PARTITIONS, (short) -1)), Duration.ofSeconds(30));
      LOG.info("prediction log: {} ready", topic);
    } catch (TopicsNotReadyException | KafkaOperationException e) {
      LOG.warn("prediction log: cannot create {}: {}", topic, e.getMessage());
    }
  }

  /** Stops taking predictions, sends what is buffered (waiting up to 10 s), then closes. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    buffer.offer(STOP);
    try {
      sender.join(TimeUnit.SECONDS.toMillis(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close(Duration.ofSeconds(10));
    admin.close(Duration.ofSeconds(5));
    LOG.info(
        "prediction log closed: {} sent, {} dropped, {} failed",
        sent.get(),
        dropped.get(),
        failed.get());
  }
}
