package dev.streamscore.scoring.monitor;

import dev.streamscore.etl.TopicNames;
import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.proto.v1.ModelVersionSpec;
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
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches every model's predictions as the prediction log holds them ({@code predictions.<model>},
 * written by every scoring node and by stream scoring), and their labels as they arrive ({@code
 * labels.<source>}, or a label field of the events themselves). Per model version it keeps the live
 * distributions of its inputs and scores against its reference profile (drift), and its joined
 * (score, label) pairs (live quality), in windows of prediction time.
 *
 * <p>It keeps no state of its own: on start it reads each prediction partition from the first
 * record that can fall in its longest window ({@code offsetsForTimes}; a record's log time is never
 * before its {@code predicted_at_ms}), and label sources from a label horizon earlier, so a monitor
 * that was killed has, once it has read to the end again, the same windows as one that never
 * stopped. One thread, one consumer ({@code read_committed}, no consumer group); close stops the
 * thread, then the consumer.
 */
public final class PredictionMonitor implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PredictionMonitor.class);
  private static final Duration DISCOVERY = Duration.ofSeconds(5);
  private static final Duration RETRY = Duration.ofSeconds(1);

  /**
   * What the monitor keeps for one model version.
   *
   * @param drift null without a reference profile
   * @param positiveOutput the position of the positive class's score; -1 for the last
   */
  private record Monitored(DriftWindows drift, QualityWindows quality, int positiveOutput) {}

  private final MonitorConfig config;
  private final Versions versions;
  private final Clock clock;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Map<String, Monitored> monitored = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> unmonitored = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> unlabelled = new ConcurrentHashMap<>();
  private final LabelJoin join;
  private final LabelReader labels;
  private final Set<TopicPartition> assigned = new HashSet<>();
  private final Map<TopicPartition, Long> startEnds = new ConcurrentHashMap<>();
  private final PredictionReader reader = new PredictionReader();
  private final AtomicLong read = new AtomicLong();
  private final AtomicLong unreadable = new AtomicLong();
  private final AtomicLong late = new AtomicLong();
  private final AtomicLong future = new AtomicLong();
  private final AtomicLong badScores = new AtomicLong();
  private final Thread thread;
  private volatile boolean closed;
  private volatile boolean caughtUp;
  private volatile boolean labelsExpected;

  private PredictionMonitor(
      String bootstrap, Versions versions, MonitorConfig config, Clock clock) {
    this.config = config;
    this.versions = versions;
    this.clock = clock;
    this.labels = new LabelReader(config.labelFields());
    this.labelsExpected = !config.labelFields().isEmpty();
    this.join =
        new LabelJoin(
            config.horizon().toMillis(),
            MonitorConfig.MAX_PENDING,
            new LabelJoin.Sink() {
              @Override
              public void joined(LabelJoin.Scored p, boolean label) {
                Monitored m = monitored.get(key(p.model(), p.version()));
                if (m != null
                    && !m.quality().add(p.predictedAtMs(), p.score(), label, clock.millis())) {
                  late.incrementAndGet();
                }
              }

              @Override
              public void unlabelled(LabelJoin.Scored p) {
                unlabelled
                    .computeIfAbsent(key(p.model(), p.version()), k -> new AtomicLong())
                    .incrementAndGet();
              }
            });
    this.consumer =
        new KafkaConsumer<>(
            KafkaClients.config(
                bootstrap,
                Map.of(
                    ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                    "read_committed",
                    ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
                    false,
                    ConsumerConfig.MAX_POLL_RECORDS_CONFIG,
                    5_000,
                    // Large fetches, at most half a second apart: the monitor shares the node's
                    // cores, and a fetch per handful of predictions costs the node and the broker.
                    ConsumerConfig.FETCH_MIN_BYTES_CONFIG,
                    1 << 20,
                    ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG,
                    500,
                    ConsumerConfig.CLIENT_ID_CONFIG,
                    "streamscore-monitor")),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer());
    this.thread = new Thread(this::run, "prediction-monitor");
    this.thread.setDaemon(true);
  }

  /** Starts watching the cluster at {@code bootstrap}. */
  public static PredictionMonitor start(
      String bootstrap, Versions versions, MonitorConfig config, Clock clock) {
    PredictionMonitor monitor = new PredictionMonitor(bootstrap, versions, config, clock);
    monitor.thread.start();
    LOG.info(
        "prediction monitor started: windows {}, label horizon {}{}",
        config.windows().stream().map(MonitorConfig.Window::label).toList(),
        config.horizon(),
        config.labelFields().isEmpty() ? "" : ", label fields " + config.labelFields());
    return monitor;
  }

  /** The windows and thresholds this monitor was started with. */
  public MonitorConfig config() {
    return config;
  }

  private void run() {
    // Discovery runs on elapsed time, not the injected clock: a clock that stands still (a replay,
    // a test) must not stop the monitor from finding topics created meanwhile.
    long nextDiscovery = System.nanoTime();
    boolean discovered = false;
    boolean unreachable = false;
    boolean registryUnavailable = false;
    try {
      while (!closed) {
        if (System.nanoTime() - nextDiscovery >= 0) {
          try {
            discover();
            discovered = true;
            nextDiscovery = System.nanoTime() + DISCOVERY.toNanos();
            if (unreachable) {
              unreachable = false;
              LOG.info("prediction monitor reaches the brokers again");
            }
          } catch (RetriableException e) {
            // A broker not up yet, or too slow to answer on a loaded machine: not a reason to
            // stop. Until a discovery succeeds the monitor is not caught up.
            if (!unreachable) {
              unreachable = true;
              LOG.warn("prediction monitor cannot reach the brokers, retrying: {}", e.getMessage());
            }
            nextDiscovery = System.nanoTime() + RETRY.toNanos();
          }
        }
        if (!discovered || assigned.isEmpty()) {
          caughtUp = discovered; // with nothing assigned, nothing to read back
          TimeUnit.MILLISECONDS.sleep(200);
          continue;
        }
        Map<TopicPartition, Long> rewind = null;
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (rewind != null) {
            rewind.putIfAbsent(new TopicPartition(r.topic(), r.partition()), r.offset());
            continue;
          }
          try {
            handle(r);
          } catch (Versions.Unavailable e) {
            // The registry cannot say what the version is: this record and the rest of the batch
            // are read again later, so that none is counted unmonitored for it.
            rewind = new HashMap<>();
            rewind.put(new TopicPartition(r.topic(), r.partition()), r.offset());
            if (!registryUnavailable) {
              registryUnavailable = true;
              LOG.warn(
                  "prediction monitor holds predictions until the registry answers: {}",
                  e.getMessage());
            }
          } catch (RuntimeException e) {
            // One record must never stop the monitor: count it and go on.
            unreadable.incrementAndGet();
            LOG.debug("skipped {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.toString());
          }
        }
        if (rewind != null) {
          rewind.forEach(consumer::seek);
          caughtUp = false;
          TimeUnit.SECONDS.sleep(1); // not a fetch of the same records every poll meanwhile
          continue;
        }
        if (registryUnavailable) {
          registryUnavailable = false;
          LOG.info("prediction monitor reaches the registry again");
        }
        try {
          caughtUp = reachedStartEnds();
        } catch (RetriableException e) {
          caughtUp = false; // a position not known yet; asked again after the next poll
        }
        if (caughtUp) {
          // Until then records of any age are still being read back: nothing may expire yet.
          join.expire(clock.millis());
        }
      }
    } catch (WakeupException | InterruptException e) {
      // closing
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      LOG.warn("prediction monitor stopped: {}", e.toString());
    }
  }

  /** Whether the monitor reads {@code topic}, and from how long before its oldest bucket. */
  private Optional<Long> lookBack(String topic) {
    if (TopicNames.isPredictions(topic)) {
      return Optional.of(0L);
    }
    if (labels.reads(topic)) {
      return Optional.of(config.horizon().toMillis());
    }
    return Optional.empty();
  }

  /** Assigns partitions it has not seen yet, each from the oldest record it can need. */
  private void discover() {
    Map<String, List<PartitionInfo>> topics = consumer.listTopics(Duration.ofSeconds(5));
    Map<TopicPartition, Long> fresh = new HashMap<>();
    long oldest = config.bucketStart(clock.millis()) - config.longest() + config.bucketMs();
    for (Map.Entry<String, List<PartitionInfo>> t : topics.entrySet()) {
      Optional<Long> back = lookBack(t.getKey());
      if (back.isEmpty()) {
        continue;
      }
      for (PartitionInfo p : t.getValue()) {
        TopicPartition tp = new TopicPartition(p.topic(), p.partition());
        if (!assigned.contains(tp)) {
          fresh.put(tp, Math.max(0, oldest - back.get()));
          labelsExpected |= labels.reads(tp.topic());
        }
      }
    }
    if (fresh.isEmpty()) {
      return;
    }
    // Both lookups before the assignment: if either times out, nothing has changed and the next
    // discovery finds the same partitions fresh again. The ends first: a partition with no record
    // as recent as its start is read from that end, and so from before anything written since.
    // (Seeking to the end instead resolves at the next poll and skipped what arrived meanwhile: a
    // topic found while still empty lost its first predictions.)
    Map<TopicPartition, Long> ends = consumer.endOffsets(fresh.keySet(), Duration.ofSeconds(10));
    Map<TopicPartition, OffsetAndTimestamp> starts =
        consumer.offsetsForTimes(fresh, Duration.ofSeconds(10));
    assigned.addAll(fresh.keySet());
    consumer.assign(assigned);
    for (TopicPartition tp : fresh.keySet()) {
      OffsetAndTimestamp start = starts.get(tp);
      consumer.seek(tp, start == null ? ends.get(tp) : start.offset());
    }
    ends.forEach(startEnds::putIfAbsent);
    LOG.debug("monitoring {} more partitions", fresh.size());
  }

  private boolean reachedStartEnds() {
    for (Map.Entry<TopicPartition, Long> e : startEnds.entrySet()) {
      if (consumer.position(e.getKey(), Duration.ofSeconds(5)) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  private void handle(ConsumerRecord<byte[], byte[]> r) {
    if (!TopicNames.isPredictions(r.topic())) {
      labels.read(r, join);
      return;
    }
    read.incrementAndGet();
    PredictionReader p = reader;
    if (r.value() == null || !p.read(r.value()) || p.modelName.isEmpty() || p.modelVersion < 1) {
      unreadable.incrementAndGet();
      return;
    }
    Monitored m = monitoredOf(p.modelName, p.modelVersion);
    if (m == null) {
      unmonitored
          .computeIfAbsent(key(p.modelName, p.modelVersion), k -> new AtomicLong())
          .incrementAndGet();
      return;
    }
    long now = clock.millis();
    if (m.drift() != null) {
      switch (m.drift().observe(p, now)) {
        case LATE -> late.incrementAndGet();
        case FUTURE -> future.incrementAndGet();
        case COUNTED -> {}
      }
    }
    int positive = m.positiveOutput() >= 0 ? m.positiveOutput() : p.scoreCount - 1;
    if (positive >= 0 && positive < p.scoreCount) {
      // A stream prediction's label is its event's; an online one's, its request's.
      String id = p.eventId.isEmpty() ? p.requestId : p.eventId;
      double score = p.scores[positive];
      if (!(score >= 0 && score <= 1)) {
        badScores.incrementAndGet(); // not a probability: no AUC or log loss can use it
      } else if (!id.isEmpty() && labelsExpected) {
        // Without a label source nothing could join: holding predictions would only cost memory.
        join.prediction(
            new LabelJoin.Scored(id, p.modelName, p.modelVersion, score, p.predictedAtMs));
      }
    }
  }

  private Monitored monitoredOf(String model, long version) {
    String key = key(model, version);
    Monitored m = monitored.get(key);
    if (m != null) {
      return m;
    }
    Optional<ModelVersionSpec> spec = versions.spec(model, version);
    if (spec.isEmpty()) {
      return null;
    }
    ModelVersionSpec s = spec.get();
    int positive = -1; // the last output
    for (int i = 0; i < s.getOutputsCount(); i++) {
      if (s.getOutputs(i).getName().equals(s.getPositiveOutput())) {
        positive = i;
      }
    }
    m =
        new Monitored(
            s.hasProfile() ? new DriftWindows(model, version, s.getProfile(), config) : null,
            new QualityWindows(model, version, s.getMetricsOrDefault("auc", Double.NaN), config),
            positive);
    monitored.put(key, m);
    return m;
  }

  private static String key(String model, long version) {
    return model + "@" + version;
  }

  private List<String> keys(String model) {
    List<String> keys = new ArrayList<>();
    for (String key : monitored.keySet()) {
      if (model.isEmpty() || key.startsWith(model + "@")) {
        keys.add(key);
      }
    }
    keys.sort(null);
    return keys;
  }

  /** Every monitored column's drift in every window now, for {@code model} (empty: all models). */
  public List<ColumnDrift> drift(String model) {
    return drift(model, clock.millis());
  }

  /** As {@link #drift(String)}, as of {@code atMs}. */
  public List<ColumnDrift> drift(String model, long atMs) {
    List<ColumnDrift> out = new ArrayList<>();
    for (String key : keys(model)) {
      DriftWindows d = monitored.get(key).drift();
      if (d != null) {
        out.addAll(d.drift(atMs));
      }
    }
    return out;
  }

  /** Every version's live quality in every window now, for {@code model} (empty: all models). */
  public List<VersionQuality> quality(String model) {
    return quality(model, clock.millis());
  }

  /** As {@link #quality(String)}, as of {@code atMs}. */
  public List<VersionQuality> quality(String model, long atMs) {
    List<VersionQuality> out = new ArrayList<>();
    for (String key : keys(model)) {
      out.addAll(monitored.get(key).quality().quality(atMs));
    }
    return out;
  }

  /** The joined (score, label) pairs of a version's window as of {@code atMs}: offline checks. */
  public List<double[]> joinedPairs(String model, long version, String window, long atMs) {
    Monitored m = monitored.get(key(model, version));
    return m == null ? List.of() : m.quality().pairs(window, atMs);
  }

  /**
   * Whether it has read every partition to where its end was when the monitor first saw it; never
   * true of a monitor whose thread has stopped.
   */
  public boolean caughtUp() {
    return caughtUp && thread.isAlive();
  }

  /** Records read from the prediction topics. */
  public long read() {
    return read.get();
  }

  /** Records that were not a prediction (the topics are open to any writer). */
  public long unreadable() {
    return unreadable.get();
  }

  /** Predictions (or joined pairs) older than the longest window when read. */
  public long late() {
    return late.get();
  }

  /** Predictions dated further ahead of the monitor's clock than the longest window. */
  public long future() {
    return future.get();
  }

  /** Predictions whose positive score was not a probability in [0, 1]: left out of quality. */
  public long badScores() {
    return badScores.get();
  }

  /** Labels read, and labels that were not readable. */
  public LabelReader.Counts labelCounts() {
    return labels.counts();
  }

  /** Predictions of versions the registry could not describe, by {@code model@version}. */
  public Map<String, Long> unmonitored() {
    return snapshot(unmonitored);
  }

  /** Predictions whose label did not arrive within the horizon, by {@code model@version}. */
  public Map<String, Long> unlabelled() {
    return snapshot(unlabelled);
  }

  private static Map<String, Long> snapshot(Map<String, AtomicLong> counts) {
    Map<String, Long> out = new HashMap<>();
    counts.forEach((k, v) -> out.put(k, v.get()));
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
