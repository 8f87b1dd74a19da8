package dev.streamscore.ingest;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.Redrive;
import dev.streamscore.proto.v1.RejectReason;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dead-letter topic read for people: counts by source, stage and reason, the latest letters of
 * each, and redrives — a letter sent back to its raw topic, as it was or corrected, and recorded on
 * {@link TopicNames#REDRIVES} in the same Kafka transaction as the raw record.
 *
 * <p>One thread reads {@code events.dlq} and {@code dlq.redrives} from their beginning
 * (read_committed, without a consumer group: it commits nothing, and a restart reads again). Memory
 * is bounded: {@link #SAMPLES} letters per source, stage and reason, and the last {@link
 * #MAX_REDRIVES} redrives. A letter is redriven at most once; a redriven record that fails again
 * becomes a new letter, redriven in its turn. Two processes redriving the same letter at the same
 * moment can both succeed: the check is against what this one has read.
 *
 * <p>Close order: the reader thread, then the producer.
 */
public final class DeadLetterLog implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DeadLetterLog.class);

  /** Letters kept per source, stage and reason, the latest first. */
  public static final int SAMPLES = 20;

  /** The largest value a redrive sends: as a letter keeps its original whole. */
  public static final int MAX_VALUE_BYTES = dev.streamscore.etl.DeadLetters.MAX_ORIGINAL_BYTES;

  /** Redrives remembered for the at-most-once check and the summary. */
  static final int MAX_REDRIVES = 100_000;

  /** The header naming the dead letter a redriven raw record came from. */
  public static final String REDRIVE_HEADER = "streamscore-redrive-of";

  private static final Duration CALL = Duration.ofSeconds(10);

  /**
   * One dead letter and where it is.
   *
   * @param redrive its redrive, when it was sent back
   */
  public record Letter(int partition, long offset, DeadLetter letter, Optional<Redrive> redrive) {
    public Letter {
      Objects.requireNonNull(letter, "letter");
      Objects.requireNonNull(redrive, "redrive");
    }
  }

  /** How many letters one source, stage and reason has, and when the latest was rejected. */
  public record ReasonCount(
      String source, String stage, RejectReason reason, long count, long lastRejectedAtMs) {}

  /**
   * What has been read.
   *
   * @param read letters read
   * @param caughtUp whether the reader has reached the end the topics had when it last looked
   * @param counts by source, stage and reason, the most letters first
   * @param redrives the latest redrives, the newest first (at most 100)
   */
  public record Summary(
      long read, boolean caughtUp, List<ReasonCount> counts, List<Redrive> redrives) {}

  /** Why a redrive or a read was refused. */
  public static final class RefusedException extends RuntimeException {
    /** What kind of refusal, for a caller that maps it to a status. */
    public enum Kind {
      /** No letter at that place. */
      NOT_FOUND,
      /** The request cannot be right (a value too large, a bad place). */
      INVALID,
      /** The letter's state forbids it (already redriven, only a prefix kept). */
      CONFLICT,
      /** Kafka did not answer in time. */
      UNAVAILABLE
    }

    private final Kind kind;

    RefusedException(Kind kind, String message) {
      super(message);
      this.kind = kind;
    }

    public Kind kind() {
      return kind;
    }
  }

  private record Key(String source, String stage, RejectReason reason) {}

  private static final class Tally {
    long count;
    long lastAt;
    final ArrayDeque<Letter> samples = new ArrayDeque<>();
  }

  private final String bootstrap;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Thread thread;
  private final Object lock = new Object();
  private final Map<Key, Tally> tallies = new HashMap<>();
  private final LinkedHashMap<String, Redrive> redrives =
      new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Redrive> eldest) {
          return size() > MAX_REDRIVES;
        }
      };
  private long read;
  private volatile boolean caughtUp;
  private volatile boolean closed;
  private final java.util.concurrent.CountDownLatch closing =
      new java.util.concurrent.CountDownLatch(1);
  private final RedriveSender sender;

  private DeadLetterLog(String bootstrap, Clock clock) {
    this.bootstrap = bootstrap;
    this.consumer = consumer(bootstrap);
    this.thread = new Thread(this::run, "dead-letter-log");
    this.thread.setDaemon(true);
    this.sender = new RedriveSender(bootstrap, clock);
  }

  /** Starts reading the dead letters of the cluster at {@code bootstrap}. */
  public static DeadLetterLog start(String bootstrap, Clock clock) {
    DeadLetterLog log = new DeadLetterLog(bootstrap, clock);
    log.thread.start();
    LOG.info("dead-letter log reading {} and {}", TopicNames.DLQ, TopicNames.REDRIVES);
    return log;
  }

  private static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
    Map<String, Object> p = new HashMap<>();
    p.putAll(KafkaClients.config(bootstrap));
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  private void run() {
    long nextLook = System.nanoTime();
    boolean failing = false;
    try {
      while (!closed) {
        try {
          if (System.nanoTime() - nextLook >= 0) {
            assign();
            nextLook = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
          }
          if (consumer.assignment().isEmpty()) {
            pause(Duration.ofMillis(500)); // no dead-letter topic yet
            continue;
          }
          for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
            accept(r);
          }
          caughtUp = atEnd();
          if (failing) {
            LOG.info("dead-letter log reading again");
            failing = false;
          }
        } catch (WakeupException e) {
          throw e;
        } catch (RuntimeException e) {
          // Kafka away or a topic being recreated: not caught up, and tried again.
          caughtUp = false;
          if (!failing) {
            LOG.warn("dead-letter log cannot read: {}; trying again", e.toString());
            failing = true;
          }
          pause(Duration.ofSeconds(1));
        }
      }
    } catch (WakeupException e) {
      // closing
    } finally {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  /** Waits {@code d}, or less when the log closes. */
  private void pause(Duration d) {
    try {
      closing.await(d.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closed = true;
    }
  }

  /** Takes on every partition of both topics, new ones included, from their beginning. */
  private void assign() {
    List<TopicPartition> partitions = new ArrayList<>();
    Map<String, List<PartitionInfo>> topics = consumer.listTopics(CALL);
    for (String topic : List.of(TopicNames.DLQ, TopicNames.REDRIVES)) {
      for (PartitionInfo info : topics.getOrDefault(topic, List.of())) {
        partitions.add(new TopicPartition(topic, info.partition()));
      }
    }
    Set<TopicPartition> before = consumer.assignment();
    if (!before.containsAll(partitions)) {
      List<TopicPartition> added = partitions.stream().filter(tp -> !before.contains(tp)).toList();
      List<TopicPartition> all = new ArrayList<>(before);
      all.addAll(added);
      consumer.assign(all);
      consumer.seekToBeginning(added);
    }
  }

  private boolean atEnd() {
    Map<TopicPartition, Long> ends = consumer.endOffsets(consumer.assignment(), CALL);
    for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
      if (consumer.position(e.getKey(), CALL) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  private void accept(ConsumerRecord<byte[], byte[]> r) {
    try {
      if (r.topic().equals(TopicNames.REDRIVES)) {
        Redrive redrive = Redrive.parseFrom(r.value());
        synchronized (lock) {
          redrives.put(place(redrive.getDlqPartition(), redrive.getDlqOffset()), redrive);
        }
        return;
      }
      DeadLetter letter = DeadLetter.parseFrom(r.value());
      Key key = new Key(letter.getSource(), letter.getStage(), letter.getReason());
      synchronized (lock) {
        read++;
        Tally tally = tallies.computeIfAbsent(key, k -> new Tally());
        tally.count++;
        tally.lastAt = Math.max(tally.lastAt, letter.getRejectedAtMs());
        tally.samples.addFirst(new Letter(r.partition(), r.offset(), letter, Optional.empty()));
        if (tally.samples.size() > SAMPLES) {
          tally.samples.removeLast();
        }
      }
    } catch (InvalidProtocolBufferException | NullPointerException e) {
      // Not ours (someone else wrote to the topic): counted nowhere, never a reason to stop.
      LOG.debug("skipped {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.toString());
    }
  }

  private static String place(int partition, long offset) {
    return partition + "/" + offset;
  }

  /** Counts by source, stage and reason, and the latest redrives. */
  public Summary summary() {
    synchronized (lock) {
      List<ReasonCount> counts = new ArrayList<>();
      tallies.forEach(
          (k, t) ->
              counts.add(new ReasonCount(k.source(), k.stage(), k.reason(), t.count, t.lastAt)));
      counts.sort(
          Comparator.comparingLong(ReasonCount::count)
              .reversed()
              .thenComparing(ReasonCount::source)
              .thenComparing(ReasonCount::stage)
              .thenComparing(c -> c.reason().getNumber()));
      List<Redrive> latest = new ArrayList<>(redrives.values());
      java.util.Collections.reverse(latest);
      return new Summary(
          read, caughtUp, counts, List.copyOf(latest.subList(0, Math.min(100, latest.size()))));
    }
  }

  /** The latest letters of one source, stage and reason, the newest first, with their redrives. */
  public List<Letter> samples(String source, String stage, RejectReason reason) {
    synchronized (lock) {
      Tally tally = tallies.get(new Key(source, stage, reason));
      if (tally == null) {
        return List.of();
      }
      return tally.samples.stream().map(this::withRedrive).toList();
    }
  }

  private Letter withRedrive(Letter l) {
    return new Letter(
        l.partition(),
        l.offset(),
        l.letter(),
        Optional.ofNullable(redrives.get(place(l.partition(), l.offset()))));
  }

  /**
   * The letter at {@code partition} and {@code offset} of {@code events.dlq}, read from Kafka.
   *
   * @throws RefusedException NOT_FOUND when there is none, UNAVAILABLE when Kafka does not answer
   */
  public Letter read(int partition, long offset) {
    if (partition < 0 || offset < 0) {
      throw new RefusedException(
          RefusedException.Kind.INVALID,
          "partition and offset must not be negative, got " + partition + "/" + offset);
    }
    Map<String, Object> p = new HashMap<>();
    p.putAll(KafkaClients.config(bootstrap));
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
    try (KafkaConsumer<byte[], byte[]> one =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<PartitionInfo> infos = one.partitionsFor(TopicNames.DLQ, CALL);
      if (partition >= infos.size()) {
        throw notFound(partition, offset);
      }
      TopicPartition tp = new TopicPartition(TopicNames.DLQ, partition);
      one.assign(List.of(tp));
      long end = one.endOffsets(List.of(tp), CALL).get(tp);
      if (offset >= end) {
        throw notFound(partition, offset);
      }
      one.seek(tp, offset);
      long deadline = System.nanoTime() + CALL.toNanos();
      while (System.nanoTime() - deadline < 0 && one.position(tp, CALL) < end) {
        for (ConsumerRecord<byte[], byte[]> r : one.poll(Duration.ofMillis(200))) {
          if (r.offset() == offset) {
            DeadLetter letter = DeadLetter.parseFrom(r.value());
            synchronized (lock) {
              return withRedrive(new Letter(partition, offset, letter, Optional.empty()));
            }
          }
          if (r.offset() > offset) {
            throw notFound(partition, offset); // a transaction marker or an aborted record
          }
        }
      }
      throw notFound(partition, offset);
    } catch (InvalidProtocolBufferException | NullPointerException e) {
      throw new RefusedException(
          RefusedException.Kind.NOT_FOUND,
          "the record at "
              + TopicNames.DLQ
              + " "
              + place(partition, offset)
              + " is not a dead letter");
    } catch (org.apache.kafka.common.errors.TimeoutException e) {
      throw new RefusedException(
          RefusedException.Kind.UNAVAILABLE,
          "Kafka did not answer within " + CALL.toSeconds() + " s");
    }
  }

  private static RefusedException notFound(int partition, long offset) {
    return new RefusedException(
        RefusedException.Kind.NOT_FOUND,
        "no dead letter at " + TopicNames.DLQ + " " + place(partition, offset));
  }

  /**
   * Sends the letter at {@code partition} and {@code offset} back to its raw topic — its original
   * bytes, or {@code corrected} — and records it on {@code dlq.redrives}, both in one transaction.
   *
   * @param by who asks, recorded
   * @return the record of it
   * @throws RefusedException when the letter is missing, already redriven, kept only in part (as it
   *     was), or the value is too large
   */
  public Redrive redrive(int partition, long offset, Optional<byte[]> corrected, String by) {
    Objects.requireNonNull(corrected, "corrected");
    Objects.requireNonNull(by, "by");
    synchronized (this) {
      Letter found = read(partition, offset);
      DeadLetter letter = found.letter();
      if (found.redrive().isPresent()) {
        Redrive before = found.redrive().get();
        throw new RefusedException(
            RefusedException.Kind.CONFLICT,
            "already redriven at "
                + Instant.ofEpochMilli(before.getRedrivenAtMs())
                + " to "
                + before.getTargetTopic()
                + " "
                + place(before.getTargetPartition(), before.getTargetOffset()));
      }
      byte[] value;
      if (corrected.isPresent()) {
        value = corrected.get();
      } else if (letter.getOriginalTruncated()) {
        throw new RefusedException(
            RefusedException.Kind.CONFLICT,
            "only the first "
                + dev.streamscore.etl.DeadLetters.PREFIX_BYTES
                + " bytes of the original were kept; redrive a corrected value");
      } else {
        value = letter.getOriginalValue().toByteArray();
      }
      if (value.length > MAX_VALUE_BYTES) {
        throw new RefusedException(
            RefusedException.Kind.INVALID,
            "the value is " + value.length + " bytes; at most " + MAX_VALUE_BYTES + " are sent");
      }
      String target = target(letter);
      byte[] key =
          letter.getOriginalKeySize() == letter.getOriginalKey().size()
                  && letter.getOriginalKeySize() > 0
              ? letter.getOriginalKey().toByteArray()
              : null;
      Redrive redrive =
          sender.send(
              partition, offset, letter.getReason(), target, key, value, corrected.isPresent(), by);
      synchronized (lock) {
        redrives.put(place(partition, offset), redrive);
      }
      return redrive;
    }
  }

  /**
   * Where a letter goes back to: the raw topic it was read from, or its source's raw topic when an
   * ETL engine or the gateway rejected it.
   */
  static String target(DeadLetter letter) {
    if (TopicNames.isRaw(letter.getSourceTopic())) {
      return letter.getSourceTopic();
    }
    if (letter.getSource().matches("[a-z][a-z0-9_\\-]{0,63}")) {
      return TopicNames.raw(letter.getSource());
    }
    throw new RefusedException(
        RefusedException.Kind.INVALID,
        "the letter names no raw topic and no source to send it back to");
  }

  @Override
  public void close() {
    closed = true;
    closing.countDown();
    consumer.wakeup();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (this) {
      sender.close();
    }
  }
}
