package dev.streamscore.launcher;

import dev.streamscore.ingest.IngestCounters;
import dev.streamscore.ingest.IngestPublisher;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Where {@code streamscore produce} sends events: a Kafka producer or the ingest gateway. */
abstract class ProduceSink implements AutoCloseable {
  final LongAdder acked = new LongAdder();
  final LongAdder failed = new LongAdder();

  /** Sends one event; may block for back-pressure. */
  abstract void send(String key, byte[] payload) throws InterruptedException;

  /** Waits until every event sent has its outcome; false if some still had none at the timeout. */
  abstract boolean finish(Duration timeout) throws InterruptedException;

  /** One line: what the transport acknowledged, rejected and failed. */
  abstract String summary();

  long acked() {
    return acked.sum();
  }

  long rejected() {
    return 0;
  }

  long failed() {
    return failed.sum();
  }

  @Override
  public abstract void close();

  /**
   * A producer with acks=all and idempotence, after checking that {@code topic} exists (so a typo
   * in --source or a platform that is not running fails in one line instead of auto-creating a
   * topic nobody reads).
   */
  static ProduceSink kafka(String bootstrap, String topic) {
    Map<String, Object> admin =
        Map.of(
            AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000,
            AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
    try (Admin client = Admin.create(admin)) {
      client.describeTopics(Set.of(topic)).allTopicNames().get(15, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof UnknownTopicOrPartitionException) {
        throw new StartupException(
            "topic "
                + topic
                + " does not exist at "
                + bootstrap
                + "; is the source declared in the spec 'streamscore up' runs with?");
      }
      throw new StartupException("Kafka at " + bootstrap + " failed: " + e.getCause().getMessage());
    } catch (TimeoutException e) {
      throw new StartupException(
          "Kafka at "
              + bootstrap
              + " did not answer within 15 s; is 'streamscore up' running? (--kafka)");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StartupException("interrupted while connecting to Kafka at " + bootstrap);
    }
    return new KafkaSink(bootstrap, topic);
  }

  /** A {@code Publish} stream of {@code source}'s events to the gateway at {@code target}. */
  static ProduceSink grpc(String target, String source) {
    return new GrpcSink(target, source);
  }

  private static final class KafkaSink extends ProduceSink {
    private final KafkaProducer<byte[], byte[]> producer;
    private final String topic;
    private final AtomicReference<Exception> firstError = new AtomicReference<>();
    private long sent;

    KafkaSink(String bootstrap, String topic) {
      this.topic = topic;
      Map<String, Object> p =
          Map.of(
              ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
              bootstrap,
              ProducerConfig.CLIENT_ID_CONFIG,
              "streamscore-produce",
              ProducerConfig.ACKS_CONFIG,
              "all",
              ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
              true,
              ProducerConfig.LINGER_MS_CONFIG,
              5,
              ProducerConfig.BATCH_SIZE_CONFIG,
              256 * 1024,
              ProducerConfig.COMPRESSION_TYPE_CONFIG,
              "lz4");
      this.producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    @Override
    void send(String key, byte[] payload) {
      sent++;
      byte[] k = key == null ? null : key.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      producer.send(
          new ProducerRecord<>(topic, k, payload),
          (meta, error) -> {
            if (error == null) {
              acked.increment();
            } else {
              failed.increment();
              firstError.compareAndSet(null, error);
            }
          });
    }

    @Override
    boolean finish(Duration timeout) {
      producer.flush();
      return acked.sum() + failed.sum() == sent;
    }

    @Override
    String summary() {
      Exception error = firstError.get();
      return String.format(
          java.util.Locale.ROOT,
          "kafka: %,d acked (acks=all), %,d failed%s",
          acked.sum(),
          failed.sum(),
          error == null ? "" : "; first failure: " + error.getMessage());
    }

    @Override
    public void close() {
      producer.close(Duration.ofSeconds(30));
    }
  }

  private static final class GrpcSink extends ProduceSink {
    private final IngestPublisher publisher;
    private final IngestPublisher.Stream stream;
    private final String target;
    private final String source;
    private final LongAdder rejected = new LongAdder();
    private final Map<String, LongAdder> rejectedByReason = new ConcurrentHashMap<>();
    private StatusRuntimeException failure;

    GrpcSink(String target, String source) {
      this.target = target;
      this.source = source;
      this.publisher = IngestPublisher.connect(target);
      this.stream =
          publisher.openStream(
              4_096,
              ack -> {
                if (ack.hasAccepted()) {
                  acked.increment();
                } else {
                  rejected.increment();
                  rejectedByReason
                      .computeIfAbsent(
                          IngestCounters.reasonName(ack.getRejected().getReason()),
                          r -> new LongAdder())
                      .increment();
                }
              });
    }

    @Override
    void send(String key, byte[] payload) throws InterruptedException {
      try {
        stream.send(source, payload);
      } catch (StatusRuntimeException e) {
        throw failed(e);
      }
    }

    @Override
    boolean finish(Duration timeout) throws InterruptedException {
      try {
        stream.finish(timeout);
        return true;
      } catch (StatusRuntimeException e) {
        throw failed(e);
      } catch (TimeoutException e) {
        return false;
      }
    }

    private StartupException failed(StatusRuntimeException e) {
      failure = e;
      long unacked = stream.sent() - stream.accepted() - stream.rejected();
      failed.add(unacked);
      String status = e.getStatus().getCode() + ": " + e.getStatus().getDescription();
      if (e.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE
          && e.getStatus().getDescription() != null
          && e.getStatus().getDescription().startsWith("io exception")) {
        status =
            "no ingest gateway answers at " + target + "; is 'streamscore up' running? (--ingest)";
      }
      return new StartupException(
          "the ingest stream failed after "
              + stream.accepted()
              + " accepted and "
              + stream.rejected()
              + " rejected events ("
              + unacked
              + " without an ack must be sent again): "
              + status);
    }

    @Override
    long rejected() {
      return rejected.sum();
    }

    @Override
    String summary() {
      Map<String, Long> reasons = new TreeMap<>();
      rejectedByReason.forEach((k, v) -> reasons.put(k, v.sum()));
      return String.format(
              java.util.Locale.ROOT,
              "gateway: %,d accepted into Kafka, %,d rejected to the dead-letter topic%s, %,d failed",
              acked.sum(),
              rejected.sum(),
              ProduceCommand.reasons(reasons),
              failed.sum())
          + (failure == null ? "" : "; " + failure.getStatus());
    }

    @Override
    public void close() {
      stream.close();
      publisher.close();
    }
  }
}
