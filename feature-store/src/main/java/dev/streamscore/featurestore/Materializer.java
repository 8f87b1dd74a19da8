package dev.streamscore.featurestore;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.streamscore.etl.TileKeys;
import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.proto.PartitionSet;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.Freshness;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies every partition of the given {@code features.<view>} topics into a {@link FeatureStore} (a
 * full replica), or only some of them (a partition-aware node: {@link Ownership}). Each poll's rows
 * go to the store in one batch together with the next offsets, so a restart resumes exactly where
 * the store stopped; no consumer group is used. Reads committed records only.
 *
 * <p>Progress: {@link #lag()} (records behind the partitions' ends), {@link #caughtUp()} (reached
 * the ends seen at start: bootstrapping is over), {@link #freshnessMs()} (now minus the newest
 * {@code updated_at} written). One thread; {@link #close()} stops it and waits.
 */
public final class Materializer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Materializer.class);

  private final FeatureStore store;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Admin admin;
  private final List<TopicPartition> partitions = new ArrayList<>();
  private final Map<TopicPartition, Long> startEnds = new HashMap<>();
  private final Map<TopicPartition, Long> positions =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final Map<TopicPartition, Long> ends = new java.util.concurrent.ConcurrentHashMap<>();
  private final AtomicLong rowsRead = new AtomicLong();
  private final AtomicLong rowsWritten = new AtomicLong();
  private final AtomicLong newestUpdate = new AtomicLong();

  /** The events topics the views aggregate, and their partition counts once known. */
  private final Map<String, Integer> sourcePartitions =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** Per events partition: its end as last polled. */
  private final Map<SourcePartition, Long> sourceEnds =
      new java.util.concurrent.ConcurrentHashMap<>();

  private final CountDownLatch stopped = new CountDownLatch(1);
  private final Clock clock;
  private final long started;
  private final Thread thread;
  private volatile boolean caughtUp;
  private long lastEndsCheck;
  private long lastSweep = System.nanoTime();
  private static final long SWEEP_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(10);
  private long lastProgress = System.nanoTime();
  private final long toBootstrap;
  private volatile boolean closing;
  private volatile Throwable failure;

  private Materializer(
      String bootstrap,
      List<String> topics,
      Optional<PartitionSet> held,
      FeatureStore store,
      Clock clock,
      Duration timeout) {
    this.store = store;
    this.clock = clock;
    this.started = clock.millis();
    Map<String, Object> props = new HashMap<>();
    props.putAll(KafkaClients.config(bootstrap));
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5_000);
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "streamscore-materializer");
    this.consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    this.admin =
        Admin.create(
            KafkaClients.config(
                bootstrap,
                Map.of(AdminClientConfig.CLIENT_ID_CONFIG, "streamscore-materializer-admin")));
    try {
      int count = 0;
      for (String topic : topics) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
        if (infos == null || infos.isEmpty()) {
          throw new IllegalStateException("topic " + topic + " does not exist");
        }
        if (count != 0 && infos.size() != count && held.isPresent()) {
          throw new IllegalStateException(
              "the feature topics have different partition counts ("
                  + topic
                  + ": "
                  + infos.size()
                  + ", others: "
                  + count
                  + "); a node cannot hold some partitions of each");
        }
        count = infos.size();
        infos.stream()
            .filter(p -> held.isEmpty() || held.get().contains(p.partition()))
            .forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
      }
      // Throws, naming the topics' partitions, when held names one they do not have.
      store.own(held.isEmpty() ? Ownership.ALL : new Ownership(held, count));
      consumer.assign(partitions);
      Map<SourcePartition, Long> stored = store.offsets();
      for (TopicPartition tp : partitions) {
        Long next = stored.get(SourcePartition.of(tp));
        if (next == null) {
          consumer.seekToBeginning(List.of(tp));
        } else {
          consumer.seek(tp, next);
        }
      }
      for (String source : store.sourceTopics()) {
        sourcePartitions.put(source, 0);
      }
      pollSourceEnds(timeout);
      startEnds.putAll(consumer.endOffsets(partitions, timeout));
      ends.putAll(startEnds);
      for (TopicPartition tp : partitions) {
        positions.put(tp, consumer.position(tp, timeout));
      }
      caughtUp = reachedStartEnds();
      long behind = 0;
      for (TopicPartition tp : partitions) {
        behind += Math.max(0, startEnds.get(tp) - positions.get(tp));
      }
      toBootstrap = behind;
    } catch (RuntimeException e) {
      consumer.close();
      admin.close();
      throw e;
    }
    LOG.info(
        "materializer reading {} partitions of {}; {} rows behind",
        partitions.size(),
        topics,
        lag());
    this.thread = new Thread(this::run, "materializer");
    thread.setDaemon(true);
  }

  /**
   * Starts copying every partition of the topics into the store, from the offsets the store holds
   * (or the beginning).
   *
   * @throws IllegalStateException when a topic does not exist
   */
  public static Materializer start(
      String bootstrap, List<String> topics, FeatureStore store, Clock clock) {
    return start(bootstrap, topics, Optional.empty(), store, clock);
  }

  /**
   * Starts copying the {@code held} partitions of the topics (all when empty) into the store, and
   * declares them the store's {@link Ownership}.
   *
   * @throws IllegalStateException when a topic does not exist, or the topics' partition counts
   *     differ while only some partitions are held
   * @throws IllegalArgumentException when {@code held} names a partition the topics do not have
   */
  public static Materializer start(
      String bootstrap,
      List<String> topics,
      Optional<PartitionSet> held,
      FeatureStore store,
      Clock clock) {
    Materializer m =
        new Materializer(bootstrap, topics, held, store, clock, Duration.ofSeconds(30));
    m.thread.start();
    return m;
  }

  private void run() {
    try {
      while (!closing) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
        if (!records.isEmpty()) {
          List<FeatureRow> rows = new ArrayList<>(records.count());
          long newest = 0;
          for (ConsumerRecord<byte[], byte[]> r : records) {
            if (r.value() == null) {
              continue; // a tombstone: the tile is gone from the topic, old tiles go by range
            }
            FeatureRow row = parse(r);
            if (row != null) {
              rows.add(row);
              newest = Math.max(newest, row.getUpdatedAtMs());
            }
          }
          Map<SourcePartition, Long> next = new HashMap<>();
          for (TopicPartition tp : records.partitions()) {
            List<ConsumerRecord<byte[], byte[]>> part = records.records(tp);
            next.put(SourcePartition.of(tp), part.get(part.size() - 1).offset() + 1);
          }
          FeatureStore.WriteResult result = store.write(rows, next);
          rowsRead.addAndGet(records.count());
          rowsWritten.addAndGet(result.written());
          newestUpdate.accumulateAndGet(newest, Math::max);
        }
        for (TopicPartition tp : partitions) {
          positions.put(tp, consumer.position(tp));
        }
        if (!caughtUp && reachedStartEnds()) {
          LOG.info("materializer caught up: {} rows read, {} written", rowsRead, rowsWritten);
          if (rowsWritten.get() > 100_000) {
            store.compact(); // one sorted run after a bulk load keeps lookups fast
          }
          caughtUp = true;
        } else if (!caughtUp && System.nanoTime() - lastProgress > 1_000_000_000L) {
          lastProgress = System.nanoTime();
          LOG.info(
              "materializer bootstrapping: {} of {} rows ({}%)",
              rowsRead.get(),
              toBootstrap,
              toBootstrap == 0 ? 100 : rowsRead.get() * 100 / toBootstrap);
        }
        long now = System.nanoTime();
        if (caughtUp && now - lastSweep > SWEEP_INTERVAL_NANOS) {
          lastSweep = now;
          long dropped = store.dropUnreachableTiles();
          if (dropped > 0) {
            LOG.info("materializer dropped {} tiles no window can reach", dropped);
          }
        }
        if (now - lastEndsCheck > 1_000_000_000L) {
          consumer.endOffsets(partitions).forEach(ends::put);
          pollSourceEnds(Duration.ofMillis(500));
          lastEndsCheck = now;
        }
      }
    } catch (WakeupException e) {
      // closing
    } catch (RuntimeException e) {
      failure = e;
      LOG.error("materializer stopped: {}", e.getMessage());
    } finally {
      consumer.close(Duration.ofSeconds(5));
      admin.close(Duration.ofSeconds(5));
      stopped.countDown();
    }
  }

  /**
   * Learns the partition counts of the events topics that exist (an absent one is retried), then
   * their committed ends. Through an admin client: a consumer asking for partitions it is not
   * assigned logs a warning each time, and could create a missing topic.
   */
  private void pollSourceEnds(Duration timeout) {
    try {
      List<String> unknown =
          sourcePartitions.entrySet().stream()
              .filter(e -> e.getValue() == 0)
              .map(Map.Entry::getKey)
              .toList();
      if (!unknown.isEmpty()) {
        admin
            .describeTopics(unknown)
            .topicNameValues()
            .forEach(
                (topic, future) -> {
                  try {
                    sourcePartitions.put(
                        topic,
                        future.get(timeout.toMillis(), TimeUnit.MILLISECONDS).partitions().size());
                  } catch (ExecutionException | TimeoutException e) {
                    // Not there yet (or the broker is slow): asked again next time.
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                });
      }
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      sourcePartitions.forEach(
          (topic, count) -> {
            for (int p = 0; p < count; p++) {
              latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
            }
          });
      if (latest.isEmpty()) {
        return;
      }
      admin
          .listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
          .all()
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
          .forEach((tp, info) -> sourceEnds.put(SourcePartition.of(tp), info.offset()));
    } catch (ExecutionException | TimeoutException e) {
      // The ends stay as last polled; freshness is empty until they are known.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * How far the store's rows are behind the events log for the partition of {@code sourceTopic}
   * holding {@code entityId}: the records after the newest event any applied row reflects, and how
   * long ago that event was appended. Empty while the topic's partitions or end are not known yet.
   *
   * <p>The position is the greatest one applied from the partition, so an engine whose subtasks
   * write one partition's entities at different speeds shows the fastest; and events the ETL
   * rejected leave no row, so they count as behind until a later event of the partition is applied.
   */
  public Optional<Freshness> freshness(String sourceTopic, String entityId) {
    Integer count = sourcePartitions.get(sourceTopic);
    if (count == null || count == 0) {
      return Optional.empty();
    }
    SourcePartition partition =
        new SourcePartition(sourceTopic, TileKeys.partition(entityId, count));
    Long end = sourceEnds.get(partition);
    if (end == null) {
      return Optional.empty();
    }
    FeatureStore.Applied at = store.applied(partition).orElse(null);
    long behind = Math.max(0, end - (at == null ? 0 : at.nextOffset()));
    long behindMs = 0;
    if (behind > 0) {
      // Nothing of the partition applied yet: behind at least since this materializer started.
      behindMs = Math.max(0, clock.millis() - (at == null ? started : at.appendedMs()));
    }
    return Optional.of(
        Freshness.newBuilder().setBehindRecords(behind).setBehindMs(behindMs).build());
  }

  private FeatureRow parse(ConsumerRecord<byte[], byte[]> r) {
    try {
      return FeatureRow.parseFrom(r.value());
    } catch (InvalidProtocolBufferException e) {
      LOG.warn(
          "skipping a record of {}-{} at offset {}: not a FeatureRow",
          r.topic(),
          r.partition(),
          r.offset());
      return null;
    }
  }

  private boolean reachedStartEnds() {
    for (TopicPartition tp : partitions) {
      if (positions.getOrDefault(tp, 0L) < startEnds.get(tp)) {
        return false;
      }
    }
    return true;
  }

  /** Whether the store has reached the end the topics had when this materializer started. */
  public boolean caughtUp() {
    return caughtUp;
  }

  /**
   * Records still to read before the ends seen at start: 0 once bootstrapping is over (and from
   * then on, whatever the lag).
   */
  public long bootstrapLag() {
    if (caughtUp) {
      return 0;
    }
    long lag = 0;
    for (TopicPartition tp : partitions) {
      lag += Math.max(0, startEnds.get(tp) - positions.getOrDefault(tp, 0L));
    }
    return Math.max(1, lag);
  }

  /** Records between the store's position and the partitions' ends (as last seen). */
  public long lag() {
    long lag = 0;
    for (TopicPartition tp : partitions) {
      lag += Math.max(0, ends.getOrDefault(tp, 0L) - positions.getOrDefault(tp, 0L));
    }
    return lag;
  }

  /** Milliseconds from the newest row's {@code updated_at} to now; -1 before the first row. */
  public long freshnessMs() {
    long newest = newestUpdate.get();
    return newest == 0 ? -1 : clock.millis() - newest;
  }

  /** Records read since start. */
  public long rowsRead() {
    return rowsRead.get();
  }

  /** Why the materializer stopped by itself, if it did; null while it runs. */
  public Throwable failure() {
    return failure;
  }

  /**
   * Stops reading and waits for the thread (up to 10 s). The store stays open: it is the caller's.
   */
  @Override
  public void close() {
    closing = true;
    consumer.wakeup();
    try {
      stopped.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
