package dev.streamscore.scoring;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.streamscore.etl.DeadLetters;
import dev.streamscore.etl.EventTimeWindow;
import dev.streamscore.etl.LogOrderFeatures;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.ingest.DeadLetterHandler;
import dev.streamscore.ingest.StreamsApps;
import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.modelsync.ModelAlias;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.RejectReason;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stream scoring: a Kafka Streams application ({@code exactly_once_v2}) that scores every event of
 * {@code events.<source>} with one model alias and writes exactly one record per event: a {@code
 * Prediction} to {@code predictions.<model>} (key: the entity id), or, when the model cannot score
 * it (a feature it refuses defaults for is missing, a value is not a number), a dead letter with
 * reason UNSCORABLE to {@code events.dlq}. Count in = predictions + unscorable, across crashes: the
 * output and the consumed offsets commit in one transaction.
 *
 * <p>Features follow the log-order rule ({@link LogOrderFeatures}): each event is scored with its
 * views' values at its event time over exactly the events of its entity before it in the log,
 * computed here by the core from a per-entity timeline kept in a Kafka Streams state store (so they
 * commit with the predictions and offsets, and a restart resumes them exactly). Training rows built
 * from the log by the same rule are bit-identical. Views over other sources are read from the
 * node's store as of the event's time. The event's own fields are the request-time features.
 * Lineage: the prediction carries the event's id and time, the model version and every stored
 * feature's event time; its request id is {@code <topic>-<partition>-<offset>}. While the model is
 * not loaded or the store is still catching up, the stream waits (up to a minute per event, then
 * the thread restarts and retries) rather than skip an event.
 */
public final class StreamScoring implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StreamScoring.class);

  /** How long one start may take before it is given up (and the stage tries again). */
  static final Duration START_BOUND = Duration.ofMinutes(2);

  static final String STAGE = "stream-scoring";

  /**
   * @param bootstrapServers the Kafka cluster
   * @param source the source whose {@code events.<source>} topic is scored
   * @param target the model, and the alias whose policy picks the version
   * @param stateDir Kafka Streams' state directory
   * @param dlqTopic where unscorable events go
   */
  public record Config(
      String bootstrapServers, String source, ModelAlias target, Path stateDir, String dlqTopic) {
    public Config {
      Objects.requireNonNull(bootstrapServers, "bootstrapServers");
      Objects.requireNonNull(source, "source");
      Objects.requireNonNull(target, "target");
      Objects.requireNonNull(stateDir, "stateDir");
      Objects.requireNonNull(dlqTopic, "dlqTopic");
    }

    /** The model scored with. */
    public String model() {
      return target.model();
    }

    /** Its alias. */
    public String alias() {
      return target.alias();
    }

    /** The Kafka Streams application id: also its consumer group. */
    public String applicationId() {
      return "streamscore-stream-scoring-" + source + "-" + model() + "-" + alias();
    }

    /** {@code events.<source>}. */
    public String eventsTopic() {
      return TopicNames.events(source);
    }
  }

  /** Events scored and events the model could not score, since start. */
  public record Counts(long scored, long unscorable) {}

  private final KafkaStreams streams;
  private final Tally tally;

  /** Events scored and found unscorable, counted as they go. */
  static final class Tally {
    final AtomicLong scored = new AtomicLong();
    final AtomicLong unscorable = new AtomicLong();

    Counts counts() {
      return new Counts(scored.get(), unscorable.get());
    }
  }

  /** What every processor of the topology works with. */
  private record Stage(
      Config config,
      Scorer scorer,
      LogOrderFeatures features,
      BooleanSupplier ready,
      Clock clock,
      Tally tally) {}

  /** The state store of per-entity timelines ({@link StoreTimeline}). */
  static final String TIMELINES = "timelines";

  private StreamScoring(KafkaStreams streams, Tally tally) {
    this.streams = streams;
    this.tally = tally;
  }

  /**
   * Starts scoring and returns once the application runs.
   *
   * @param ready false while the feature store is catching up: events whose model reads a view over
   *     another source wait
   * @throws IllegalStateException if it does not run within {@link #START_BOUND}, or stops first
   */
  public static StreamScoring start(
      Config config, Scorer scorer, BooleanSupplier ready, Clock clock) {
    ensureTopics(config);
    Tally tally = new Tally();
    Topology topology = topology(config, scorer, ready, clock, tally);
    Properties properties = properties(config);
    // What the processor fails on (a defect) becomes an INTERNAL dead letter, counted here.
    DeadLetterHandler.configure(
        properties, config.dlqTopic(), STAGE, topic -> tally.unscorable.incrementAndGet());
    KafkaStreams streams = new KafkaStreams(topology, properties);
    CountDownLatch settled = new CountDownLatch(1);
    AtomicReference<KafkaStreams.State> settledAs = new AtomicReference<>();
    streams.setStateListener(
        (now, before) -> {
          if (now == KafkaStreams.State.RUNNING || !now.isRunningOrRebalancing()) {
            settledAs.compareAndSet(null, now);
            settled.countDown();
          }
        });
    // A stream thread that gave up waiting for the model is replaced; its transaction aborted.
    streams.setUncaughtExceptionHandler(
        e -> {
          LOG.warn("stream scoring thread failed, replacing it: {}", e.toString());
          return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
    streams.start();
    try {
      // Restoring the state stores after a SIGKILL (under exactly-once they are rebuilt from
      // their changelogs) takes a while on a busy machine; the stage tries again after this.
      if (!settled.await(START_BOUND.toSeconds(), TimeUnit.SECONDS)) {
        streams.close(Duration.ofSeconds(10));
        throw new IllegalStateException(
            "stream scoring did not start within " + START_BOUND.toSeconds() + " s");
      }
      if (settledAs.get() != KafkaStreams.State.RUNNING) {
        streams.close(Duration.ofSeconds(10));
        throw new IllegalStateException(
            "stream scoring stopped while starting: " + settledAs.get());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      streams.close(Duration.ofSeconds(10));
      throw new IllegalStateException("interrupted while starting stream scoring", e);
    }
    LOG.info(
        "stream scoring running: {} -> {} with {}/{}",
        config.eventsTopic(),
        PredictionLog.topic(config.model()),
        config.model(),
        config.alias());
    return new StreamScoring(streams, tally);
  }

  /** True while the application processes events (or rebalances); false once stopped or failed. */
  public boolean running() {
    return streams.state().isRunningOrRebalancing();
  }

  public Counts counts() {
    return tally.counts();
  }

  /** The topology: a function of its inputs, so tests drive it the same way. */
  static Topology topology(
      Config config, Scorer scorer, BooleanSupplier ready, Clock clock, Tally tally) {
    StreamsBuilder builder = new StreamsBuilder();
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(TIMELINES), Serdes.Bytes(), Serdes.ByteArray())
            // A busy entity's header and tiles change with each event: the cache writes each
            // once per commit instead of once per event.
            .withCachingEnabled());
    LogOrderFeatures features = LogOrderFeatures.of(scorer.spec(), config.source());
    KStream<String, Outcome> outcomes =
        builder.stream(config.eventsTopic(), Consumed.with(Serdes.String(), Serdes.ByteArray()))
            .processValues(
                () -> new ScoreProcessor(new Stage(config, scorer, features, ready, clock, tally)),
                TIMELINES);
    outcomes
        .split()
        .branch(
            (k, o) -> o.prediction() != null,
            Branched.withConsumer(
                s ->
                    s.mapValues(o -> o.prediction())
                        .to(
                            PredictionLog.topic(config.model()),
                            Produced.with(Serdes.String(), Serdes.ByteArray()))))
        .defaultBranch(
            Branched.withConsumer(
                s ->
                    s.mapValues(o -> o.deadLetter())
                        .to(
                            config.dlqTopic(),
                            Produced.with(Serdes.String(), Serdes.ByteArray()))));
    return builder.build();
  }

  /** One event's result: a prediction or a dead letter, serialized. */
  record Outcome(byte[] prediction, byte[] deadLetter) {}

  private static final class ScoreProcessor implements FixedKeyProcessor<String, byte[], Outcome> {
    private final Stage stage;
    private final ModelRef model;
    private FixedKeyProcessorContext<String, Outcome> context;
    private KeyValueStore<Bytes, byte[]> timelines;

    ScoreProcessor(Stage stage) {
      this.stage = stage;
      this.model =
          ModelRef.newBuilder()
              .setName(stage.config().model())
              .setAlias(stage.config().alias())
              .build();
    }

    @Override
    public void init(FixedKeyProcessorContext<String, Outcome> context) {
      this.context = context;
      this.timelines = context.getStateStore(TIMELINES);
    }

    @Override
    public void process(FixedKeyRecord<String, byte[]> record) {
      var meta = context.recordMetadata().orElseThrow();
      String origin = meta.topic() + "-" + meta.partition() + "-" + meta.offset();
      if (record.value() == null || record.value().length == 0) {
        unscorable(record, meta, "the record has no value");
        return;
      }
      Event event;
      try {
        event = Event.parseFrom(record.value());
      } catch (InvalidProtocolBufferException e) {
        // The validator writes only valid events; a foreign writer's record is not ours to score.
        unscorable(record, meta, "not an Event protobuf: " + e.getMessage());
        return;
      }
      if (event.getEventTimeMs() < EventTimeWindow.MIN_TIME_MS
          || event.getEventTimeMs() > EventTimeWindow.MAX_TIME_MS) {
        unscorable(
            record,
            meta,
            "event time " + event.getEventTimeMs() + " ms is outside the years 1970 to 9999");
        return;
      }
      LogOrderFeatures rule = stage.features();
      StoreTimeline timeline = new StoreTimeline(timelines, event.getEntityId(), rule.viewCount());
      score(record, meta, origin, event, timeline);
      // Scored or not, the event is in its entity's log: later events' features count it.
      rule.append(timeline, event);
      timeline.flush();
    }

    private void score(
        FixedKeyRecord<String, byte[]> record,
        org.apache.kafka.streams.processor.api.RecordMetadata meta,
        String origin,
        Event event,
        StoreTimeline timeline) {
      LogOrderFeatures rule = stage.features();
      long time = event.getEventTimeMs();
      ScoreRequest request;
      try {
        request =
            new ScoreRequest(
                origin,
                model,
                Map.of(stage.scorer().keyField(event.getSource()), event.getEntityId()),
                event.getFieldsMap(),
                ScoreRequest.ExtraFeatures.IGNORE,
                (view, names) -> {
                  if (rule.hasView(view)) {
                    return rule.valuesAt(timeline, view, names, time);
                  }
                  // A view over another source comes from the node's store: once it caught up.
                  if (!stage.ready().getAsBoolean()) {
                    throw new ScoringException(
                        ScoringException.Reason.NOT_READY, "the feature store is catching up");
                  }
                  return null;
                });
      } catch (ScoringException e) {
        unscorable(record, meta, e.getMessage());
        return;
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (true) {
        try {
          Scorer.Scored s = stage.scorer().score(request, event.getEventTimeMs(), task -> {});
          Prediction.Builder p =
              s.prediction().toBuilder()
                  .setEventId(event.getEventId())
                  .setEventTimeMs(event.getEventTimeMs())
                  .setPredictedAtMs(stage.clock().millis())
                  .setNodeId("stream");
          // The input vector goes with every stream prediction: what the consistency check
          // compares with the training row of the same event.
          for (float f : s.vector()) {
            p.addFeatures(f);
          }
          stage.tally().scored.incrementAndGet();
          context.forward(record.withValue(new Outcome(p.build().toByteArray(), null)));
          return;
        } catch (ScoringException e) {
          if (e.reason().retriable()) {
            if (System.nanoTime() > deadline) {
              throw new DeadLetterHandler.NotYet(
                  "cannot score " + origin + " for a minute: " + e.getMessage());
            }
            sleepBriefly();
            continue;
          }
          unscorable(record, meta, e.getMessage());
          return;
        }
      }
    }

    private void unscorable(
        FixedKeyRecord<String, byte[]> record,
        org.apache.kafka.streams.processor.api.RecordMetadata meta,
        String message) {
      DeadLetter letter =
          DeadLetters.of(
              new DeadLetters.Original(
                  stage.config().source(),
                  new RecordOrigin(meta.topic(), meta.partition(), meta.offset()),
                  record.timestamp(),
                  record.key() == null ? null : record.key().getBytes(StandardCharsets.UTF_8),
                  record.value()),
              RejectReason.REJECT_REASON_UNSCORABLE,
              "",
              stage.config().model() + "/" + stage.config().alias() + ": " + message,
              STAGE,
              stage.clock().millis());
      context.forward(record.withValue(new Outcome(null, letter.toByteArray())));
      stage.tally().unscorable.incrementAndGet();
    }

    private static void sleepBriefly() {
      try {
        // The model or the store is not there yet; nothing to await but time.
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the model", e);
      }
    }
  }

  private static void ensureTopics(Config config) {
    try (Admin admin = Admin.create(KafkaClients.config(config.bootstrapServers()))) {
      for (String topic : List.of(PredictionLog.topic(config.model()))) {
        try {
          admin
              .createTopics(List.of(new NewTopic(topic, PredictionLog.PARTITIONS, (short) -1)))
              .all()
              .get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw new IllegalStateException("cannot create " + topic + ": " + e.getCause(), e);
          }
        } catch (java.util.concurrent.TimeoutException e) {
          throw new IllegalStateException("creating " + topic + " timed out", e);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted", e);
        }
      }
    }
  }

  static Properties properties(Config config) {
    Properties p =
        StreamsApps.properties(
            config.applicationId(), config.bootstrapServers(), config.stateDir());
    p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
    return p;
  }

  /** Commits what is done, leaves the group and stops (up to 30 s). */
  @Override
  public void close() {
    StreamsApps.close(streams);
    LOG.info(
        "stream scoring stopped: {} scored, {} unscorable",
        tally.scored.get(),
        tally.unscorable.get());
  }
}
