package dev.streamscore.scoring.monitor;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.ReferenceProfile;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches every model's predictions as the prediction log holds them ({@code predictions.<model>},
 * written by every scoring node and by stream scoring) and keeps, per model version, the live
 * distributions of its inputs and scores in windows, against the version's reference profile.
 *
 * <p>It keeps no state of its own: on start it reads each partition from the first record that can
 * fall in its longest window ({@code offsetsForTimes}; a record's log time is never before its
 * {@code predicted_at_ms}), so a monitor that was killed has, once it has read to the end again,
 * the same windows as one that never stopped. One thread, one consumer ({@code read_committed}, no
 * consumer group); close stops the thread, then the consumer.
 */
public final class PredictionMonitor implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PredictionMonitor.class);
  private static final Duration DISCOVERY = Duration.ofSeconds(5);

  private final MonitorConfig config;
  private final ProfileSource profiles;
  private final Clock clock;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Map<String, DriftWindows> windows = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> unprofiled = new ConcurrentHashMap<>();
  private final Set<TopicPartition> assigned = new HashSet<>();
  private final Map<TopicPartition, Long> startEnds = new ConcurrentHashMap<>();
  private final AtomicLong read = new AtomicLong();
  private final AtomicLong unreadable = new AtomicLong();
  private final AtomicLong late = new AtomicLong();
  private final AtomicLong future = new AtomicLong();
  private final Thread thread;
  private volatile boolean closed;
  private volatile boolean caughtUp;

  private PredictionMonitor(
      String bootstrap, ProfileSource profiles, MonitorConfig config, Clock clock) {
    this.config = config;
    this.profiles = profiles;
    this.clock = clock;
    this.consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrap,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
                false,
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG,
                2_000,
                ConsumerConfig.CLIENT_ID_CONFIG,
                "streamscore-monitor"),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer());
    this.thread = new Thread(this::run, "prediction-monitor");
    this.thread.setDaemon(true);
  }

  /** Starts watching the cluster at {@code bootstrap}. */
  public static PredictionMonitor start(
      String bootstrap, ProfileSource profiles, MonitorConfig config, Clock clock) {
    PredictionMonitor monitor = new PredictionMonitor(bootstrap, profiles, config, clock);
    monitor.thread.start();
    LOG.info("prediction monitor started: windows {}", config.windows());
    return monitor;
  }

  /** The windows and minimum rows this monitor was started with. */
  public MonitorConfig config() {
    return config;
  }

  private void run() {
    long nextDiscovery = 0;
    try {
      while (!closed) {
        if (clock.millis() >= nextDiscovery) {
          discover();
          nextDiscovery = clock.millis() + DISCOVERY.toMillis();
        }
        if (assigned.isEmpty()) {
          caughtUp = true; // nothing to read back
          TimeUnit.MILLISECONDS.sleep(200);
          continue;
        }
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          handle(r);
        }
        caughtUp = reachedStartEnds();
      }
    } catch (WakeupException | InterruptException e) {
      // closing
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      LOG.warn("prediction monitor stopped: {}", e.toString());
    }
  }

  /** Assigns partitions of prediction topics it has not seen yet, from its longest window. */
  private void discover() {
    Map<String, List<PartitionInfo>> topics = consumer.listTopics(Duration.ofSeconds(5));
    List<TopicPartition> fresh = new ArrayList<>();
    for (Map.Entry<String, List<PartitionInfo>> t : topics.entrySet()) {
      if (!TopicNames.isPredictions(t.getKey())) {
        continue;
      }
      for (PartitionInfo p : t.getValue()) {
        TopicPartition tp = new TopicPartition(p.topic(), p.partition());
        if (!assigned.contains(tp)) {
          fresh.add(tp);
        }
      }
    }
    if (fresh.isEmpty()) {
      return;
    }
    assigned.addAll(fresh);
    consumer.assign(assigned);
    long from = config.bucketStart(clock.millis()) - config.longest() + config.bucketMs();
    Map<TopicPartition, Long> query = new HashMap<>();
    fresh.forEach(tp -> query.put(tp, from));
    Map<TopicPartition, OffsetAndTimestamp> starts =
        consumer.offsetsForTimes(query, Duration.ofSeconds(10));
    List<TopicPartition> atEnd = new ArrayList<>();
    for (TopicPartition tp : fresh) {
      OffsetAndTimestamp start = starts.get(tp);
      if (start == null) {
        atEnd.add(tp);
      } else {
        consumer.seek(tp, start.offset());
      }
    }
    if (!atEnd.isEmpty()) {
      consumer.seekToEnd(atEnd); // an empty list would mean every assigned partition
    }
    consumer.endOffsets(fresh, Duration.ofSeconds(10)).forEach(startEnds::putIfAbsent);
    LOG.debug("monitoring {} more prediction partitions", fresh.size());
  }

  private boolean reachedStartEnds() {
    for (Map.Entry<TopicPartition, Long> e : startEnds.entrySet()) {
      if (consumer.position(e.getKey()) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  private void handle(ConsumerRecord<byte[], byte[]> r) {
    read.incrementAndGet();
    Prediction p;
    try {
      p = r.value() == null ? null : Prediction.parseFrom(r.value());
    } catch (InvalidProtocolBufferException e) {
      p = null;
    }
    if (p == null || p.getModelName().isEmpty() || p.getModelVersion() < 1) {
      unreadable.incrementAndGet();
      return;
    }
    DriftWindows w = windowsOf(p.getModelName(), p.getModelVersion());
    if (w == null) {
      unprofiled
          .computeIfAbsent(key(p.getModelName(), p.getModelVersion()), k -> new AtomicLong())
          .incrementAndGet();
      return;
    }
    switch (w.observe(p, clock.millis())) {
      case LATE -> late.incrementAndGet();
      case FUTURE -> future.incrementAndGet();
      case COUNTED -> {}
    }
  }

  private DriftWindows windowsOf(String model, long version) {
    String key = key(model, version);
    DriftWindows w = windows.get(key);
    if (w != null) {
      return w;
    }
    Optional<ReferenceProfile> profile = profiles.profile(model, version);
    if (profile.isEmpty()) {
      return null;
    }
    w = new DriftWindows(model, version, profile.get(), config);
    windows.put(key, w);
    return w;
  }

  private static String key(String model, long version) {
    return model + "@" + version;
  }

  /** Every monitored column's drift in every window now, for {@code model} (empty: all models). */
  public List<ColumnDrift> drift(String model) {
    return drift(model, clock.millis());
  }

  /** As {@link #drift(String)}, as of {@code atMs}. */
  public List<ColumnDrift> drift(String model, long atMs) {
    List<ColumnDrift> out = new ArrayList<>();
    List<String> keys = new ArrayList<>(windows.keySet());
    keys.sort(null);
    for (String key : keys) {
      if (model.isEmpty() || key.startsWith(model + "@")) {
        out.addAll(windows.get(key).drift(atMs));
      }
    }
    return out;
  }

  /** Whether it has read every partition to where its end was when the monitor first saw it. */
  public boolean caughtUp() {
    return caughtUp;
  }

  /** Records read from the prediction topics. */
  public long read() {
    return read.get();
  }

  /** Records that were not a prediction (the topics are open to any writer). */
  public long unreadable() {
    return unreadable.get();
  }

  /** Predictions older than the longest window when read. */
  public long late() {
    return late.get();
  }

  /** Predictions dated further ahead of the monitor's clock than the longest window. */
  public long future() {
    return future.get();
  }

  /** Predictions of versions without a profile (or whose profile could not be read yet). */
  public Map<String, Long> unprofiled() {
    Map<String, Long> out = new HashMap<>();
    unprofiled.forEach((k, v) -> out.put(k, v.get()));
    return out;
  }

  @Override
  public void close() throws InterruptedException {
    closed = true;
    consumer.wakeup();
    thread.interrupt();
    thread.join(TimeUnit.SECONDS.toMillis(10));
    consumer.close(Duration.ofSeconds(5));
    LOG.info("prediction monitor stopped");
  }
}
