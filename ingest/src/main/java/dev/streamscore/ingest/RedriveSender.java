package dev.streamscore.ingest;

import com.google.protobuf.ByteString;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.ingest.DeadLetterLog.RefusedException;
import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.kafka.Topics;
import dev.streamscore.proto.v1.Redrive;
import dev.streamscore.proto.v1.RejectReason;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write half of a redrive: the raw record and its {@code Redrive} record in one Kafka
 * transaction, by a transactional producer made on the first redrive (closed by {@link #close}).
 * Not thread-safe: {@link DeadLetterLog} calls it under its lock.
 */
final class RedriveSender implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RedriveSender.class);
  private static final Duration CALL = Duration.ofSeconds(10);

  private final String bootstrap;
  private final Clock clock;
  private KafkaProducer<byte[], byte[]> producer;

  RedriveSender(String bootstrap, Clock clock) {
    this.bootstrap = bootstrap;
    this.clock = clock;
  }

  private static String place(int partition, long offset) {
    return partition + "/" + offset;
  }

  Redrive send(
      int partition,
      long offset,
      RejectReason reason,
      String target,
      byte[] key,
      byte[] value,
      boolean corrected,
      String by) {
    String origin = TopicNames.DLQ + "/" + place(partition, offset);
    try {
      KafkaProducer<byte[], byte[]> p = producer(target);
      p.beginTransaction();
      try {
        ProducerRecord<byte[], byte[]> raw = new ProducerRecord<>(target, key, value);
        raw.headers().add(DeadLetterLog.REDRIVE_HEADER, origin.getBytes(StandardCharsets.UTF_8));
        RecordMetadata at = p.send(raw).get(CALL.toMillis(), TimeUnit.MILLISECONDS);
        Redrive redrive =
            Redrive.newBuilder()
                .setDlqPartition(partition)
                .setDlqOffset(offset)
                .setReason(reason)
                .setTargetTopic(target)
                .setTargetPartition(at.partition())
                .setTargetOffset(at.offset())
                .setCorrected(corrected)
                .setValueSha256(ByteString.copyFrom(sha256(value)))
                .setRedrivenAtMs(clock.millis())
                .setBy(by)
                .build();
        p.send(
                new ProducerRecord<>(
                    TopicNames.REDRIVES,
                    origin.getBytes(StandardCharsets.UTF_8),
                    redrive.toByteArray()))
            .get(CALL.toMillis(), TimeUnit.MILLISECONDS);
        p.commitTransaction();
        LOG.info(
            "redrove {} ({}) {} to {} {} for {}",
            origin,
            reason.name().replace("REJECT_REASON_", "").toLowerCase(java.util.Locale.ROOT),
            corrected ? "corrected" : "as it was",
            target,
            place(at.partition(), at.offset()),
            by);
        return redrive;
      } catch (ExecutionException | java.util.concurrent.TimeoutException | RuntimeException e) {
        abandon(p);
        throw e;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RefusedException(RefusedException.Kind.UNAVAILABLE, "interrupted");
    } catch (ExecutionException
        | java.util.concurrent.TimeoutException
        | KafkaCallException
        | org.apache.kafka.common.KafkaException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new RefusedException(
          RefusedException.Kind.UNAVAILABLE, "the redrive was not written: " + cause.getMessage());
    }
  }

  /** The transactional producer, made on the first redrive; the target and record topic exist. */
  private KafkaProducer<byte[], byte[]> producer(String target) throws KafkaCallException {
    try (Admin admin =
        Admin.create(
            KafkaClients.config(
                bootstrap,
                Map.of(
                    AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
                    (int) CALL.toMillis(),
                    AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                    (int) CALL.toMillis())))) {
      Set<String> names = admin.listTopics().names().get(CALL.toMillis(), TimeUnit.MILLISECONDS);
      if (!names.contains(target)) {
        throw new RefusedException(
            RefusedException.Kind.CONFLICT, "the target topic " + target + " does not exist");
      }
      if (!names.contains(TopicNames.REDRIVES)) {
        Topics.using(admin).ensure(List.of(new NewTopic(TopicNames.REDRIVES, 1, (short) -1)), CALL);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KafkaCallException(e);
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new KafkaCallException(e);
    }
    if (producer == null) {
      Map<String, Object> p = new HashMap<>();
      p.putAll(KafkaClients.config(bootstrap));
      p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "streamscore-redrive-" + UUID.randomUUID());
      p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) CALL.toMillis());
      p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, DeadLetterLog.MAX_VALUE_BYTES + 64 * 1024);
      KafkaProducer<byte[], byte[]> made =
          new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
      made.initTransactions();
      producer = made;
    }
    return producer;
  }

  /** Aborts the open transaction; a producer that cannot abort is closed and made again later. */
  private void abandon(KafkaProducer<byte[], byte[]> p) {
    try {
      p.abortTransaction();
    } catch (RuntimeException e) {
      p.close(Duration.ZERO);
      producer = null;
    }
  }

  /** A Kafka call that failed; carries its cause to the one place that words it. */
  private static final class KafkaCallException extends Exception {
    KafkaCallException(Throwable cause) {
      super(cause.getMessage(), cause);
    }
  }

  private static byte[] sha256(byte[] value) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(value);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  @Override
  public void close() {
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
      producer = null;
    }
  }
}
