package dev.streamscore.launcher;

import dev.streamscore.ingest.IngestCounters;
import dev.streamscore.ingest.IngestPublisher;
import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.proto.FailoverChannels;
import dev.streamscore.proto.v1.IngestGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
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
  private static StartupException noAnswer(String bootstrap) {
    return new StartupException(
        "Kafka at "
            + bootstrap
            + " did not answer within 15 s; is 'streamscore up' running? (--kafka; a secured"
            + " cluster needs --kafka-config)");
  }

  static ProduceSink kafka(String bootstrap, String topic) {
    Map<String, Object> admin =
        KafkaClients.config(
            bootstrap,
            Map.of(
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                15_000,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
                15_000));
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
      if (e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException) {
        throw noAnswer(bootstrap);
      }
      if (e.getCause() instanceof org.apache.kafka.common.errors.AuthenticationException) {
        throw new StartupException(
            "Kafka at "
                + bootstrap
                + " refused us: "
                + e.getCause().getMessage()
                + "; check --kafka-config");
      }
      throw new StartupException("Kafka at " + bootstrap + " failed: " + e.getCause().getMessage());
    } catch (TimeoutException e) {
      throw noAnswer(bootstrap);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StartupException("interrupted while connecting to Kafka at " + bootstrap);
    }
    return new KafkaSink(bootstrap, topic);
  }

  /** {@code Publish} streams of {@code source}'s events to the gateways at {@code targets}. */
  static ProduceSink grpc(String targets, String source) {
    return new GrpcSink(targets, source);
  }

  private static final class KafkaSink extends ProduceSink {
    private final KafkaProducer<byte[], byte[]> producer;
    private final String topic;
    private final AtomicReference<Exception> firstError = new AtomicReference<>();
    private long sent;

    KafkaSink(String bootstrap, String topic) {
      this.topic = topic;
      Map<String, Object> p =
          KafkaClients.config(
              bootstrap,
              Map.of(
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
                  "lz4"));
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

  /**
   * {@code Publish} streams of a source's events to the gateways at {@code targets}
   * (comma-separated). A stream that breaks (its gateway died) is opened again on another gateway
   * and every event without an ack is sent again on it: at least once, so a gateway that wrote an
   * event before dying leaves a copy, which the ETL's dedupe by event id keeps out of the features.
   */
  private static final class GrpcSink extends ProduceSink {
    /**
     * Streams opened again after a failure, at most, before produce gives up; with the backoff
     * between them (0.25 s doubling to 4 s) about a minute for a gateway to come back.
     */
    private static final int MAX_REOPENS = 20;

    private final ManagedChannel channel;
    private final IngestPublisher publisher;
    private final String targets;
    private final String source;
    private final LongAdder rejected = new LongAdder();
    private final LongAdder resent = new LongAdder();
    private final Map<String, LongAdder> rejectedByReason = new ConcurrentHashMap<>();
    private Attempt current;
    private int reopened;
    private StatusRuntimeException failure;

    /** One stream and its events still without an ack, by sequence. */
    private final class Attempt {
      final ConcurrentSkipListMap<Long, byte[]> unacked = new ConcurrentSkipListMap<>();
      final IngestPublisher.Stream stream =
          publisher.openStream(
              4_096,
              ack -> {
                unacked.remove(ack.getSequence());
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

      /** Sends one event; it stays among the unacked until its ack, also when this throws. */
      void send(byte[] payload) throws InterruptedException {
        unacked.put(stream.sent(), payload);
        stream.send(source, payload);
      }
    }

    GrpcSink(String targets, String source) {
      this.targets = targets;
      this.source = source;
      try {
        this.channel = FailoverChannels.forTargets(targets, List.of(IngestGrpc.SERVICE_NAME));
      } catch (IllegalArgumentException e) {
        throw new StartupException("--ingest: " + e.getMessage());
      }
      this.publisher = IngestPublisher.using(channel);
      this.current = new Attempt();
    }

    @Override
    void send(String key, byte[] payload) throws InterruptedException {
      try {
        current.send(payload);
      } catch (StatusRuntimeException e) {
        reopen(e); // the payload is among the unacked that the new stream sends again
      }
    }

    /**
     * Opens a new stream and sends it every event the broken one has no ack for; throws when the
     * failure is not one a gateway's death explains, or after {@link #MAX_REOPENS}.
     */
    private void reopen(StatusRuntimeException e) throws InterruptedException {
      List<byte[]> pending = new ArrayList<>(current.unacked.values());
      StatusRuntimeException cause = e;
      while (true) {
        if (cause.getStatus().getCode() != Status.Code.UNAVAILABLE || reopened >= MAX_REOPENS) {
          throw failed(cause);
        }
        reopened++;
        // Give the channel a moment to find a live gateway: a stream opened while none is ready
        // fails at once.
        Thread.sleep(Math.min(4_000, 250L << Math.min(4, reopened - 1)));
        current = new Attempt();
        int i = 0;
        try {
          for (; i < pending.size(); i++) {
            resent.increment();
            current.send(pending.get(i));
          }
          return;
        } catch (StatusRuntimeException again) {
          // What this stream took without an ack (the one that failed included), then the rest.
          List<byte[]> next = new ArrayList<>(current.unacked.values());
          next.addAll(pending.subList(i + 1, pending.size()));
          pending = next;
          cause = again;
        }
      }
    }

    @Override
    boolean finish(Duration timeout) throws InterruptedException {
      while (true) {
        try {
          current.stream.finish(timeout);
          return true;
        } catch (StatusRuntimeException e) {
          reopen(e);
        } catch (TimeoutException e) {
          return false;
        }
      }
    }

    private StartupException failed(StatusRuntimeException e) {
      failure = e;
      long unacked = current.unacked.size();
      failed.add(unacked);
      String status = e.getStatus().getCode() + ": " + e.getStatus().getDescription();
      if (e.getStatus().getCode() == Status.Code.UNAVAILABLE) {
        status =
            "no ingest gateway answers at " + targets + "; is 'streamscore up' running? (--ingest)";
      }
      return new StartupException(
          "the ingest stream failed after "
              + acked.sum()
              + " accepted and "
              + rejected.sum()
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
          + (reopened == 0
              ? ""
              : String.format(
                  java.util.Locale.ROOT,
                  "; %d streams opened again after a gateway failed, %,d events sent again",
                  reopened,
                  resent.sum()))
          + (failure == null ? "" : "; " + failure.getStatus());
    }

    @Override
    public void close() {
      current.stream.close();
      publisher.close();
      channel.shutdownNow();
    }
  }
}
