package dev.streamscore.ingest;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.SourceSpec;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.kafka.Topics;
import dev.streamscore.proto.v1.RejectReason;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running validator: creates the raw, events and dead-letter topics if missing, then runs
 * {@link ValidatorTopology} with exactly-once processing until closed.
 */
public final class Validator implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Validator.class);

  private final KafkaStreams streams;
  private final IngestCounters counters;

  private final AtomicReference<Throwable> failure;

  private Validator(
      KafkaStreams streams, IngestCounters counters, AtomicReference<Throwable> failure) {
    this.streams = streams;
    this.counters = counters;
    this.failure = failure;
  }

  /**
   * Starts the validator and returns once it is running.
   *
   * @throws IllegalStateException if it does not reach RUNNING within the start timeout
   */
  public static Validator start(ValidatorConfig config, FeatureSpec spec, Clock clock) {
    return start(config, spec, clock, new IngestCounters());
  }

  /**
   * Starts the validator counting into {@code counters}, which a restarted validator keeps.
   *
   * @throws IllegalStateException if it does not reach RUNNING within the start timeout
   */
  public static Validator start(
      ValidatorConfig config, FeatureSpec spec, Clock clock, IngestCounters counters) {
    ensureTopics(config, spec);
    Properties properties = streamsProperties(config);
    DeadLetterHandler.configure(
        properties,
        config.dlqTopic(),
        ValidatorTopology.STAGE,
        topic ->
            counters.rejected(
                TopicNames.isRaw(topic) ? TopicNames.sourceOfRaw(topic) : topic,
                RejectReason.REJECT_REASON_INTERNAL));
    KafkaStreams streams =
        new KafkaStreams(
            ValidatorTopology.build(spec, config.dlqTopic(), counters, clock), properties);
    CountDownLatch running = new CountDownLatch(1);
    AtomicReference<KafkaStreams.State> last = new AtomicReference<>();
    streams.setStateListener(
        (now, before) -> {
          last.set(now);
          if (now == KafkaStreams.State.RUNNING) {
            running.countDown();
          }
          if (now == KafkaStreams.State.ERROR) {
            LOG.error("validator stopped with an error; see the previous log lines");
          }
        });
    AtomicReference<Throwable> failure = new AtomicReference<>();
    streams.setUncaughtExceptionHandler(
        e -> {
          failure.set(e.getCause() != null ? e.getCause() : e);
          LOG.error("validator failed: {}", failure.get().toString());
          return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler
              .StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    streams.start();
    try {
      if (!awaitRunning(running, config, spec, clock)) {
        streams.close(Duration.ofSeconds(10));
        throw new IllegalStateException(
            "validator did not start within "
                + config.startTimeout()
                + " (state "
                + last.get()
                + "); "
                + openTransactions(config));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      streams.close(Duration.ofSeconds(10));
      throw new IllegalStateException("interrupted while starting the validator", e);
    }
    LOG.info(
        "validator running: {} -> events.* | {}",
        spec.sources().values().stream().map(SourceSpec::rawTopic).toList(),
        config.dlqTopic());
    return new Validator(streams, counters, failure);
  }

  /**
   * What the broker says of transactions still open, for the start-up failure's message: a
   * transaction left open by a crashed run holds back the committed offsets the validator resumes
   * from, and {@code kafka-transactions.sh} can abort it by the id named here.
   */
  static String openTransactions(ValidatorConfig config) {
    try (Admin admin = shortCalls(config)) {
      List<String> ids =
          admin.listTransactions().all().get(10, TimeUnit.SECONDS).stream()
              .filter(
                  t -> t.state() != org.apache.kafka.clients.admin.TransactionState.COMPLETE_COMMIT)
              .filter(
                  t -> t.state() != org.apache.kafka.clients.admin.TransactionState.COMPLETE_ABORT)
              .filter(t -> t.state() != org.apache.kafka.clients.admin.TransactionState.EMPTY)
              .map(org.apache.kafka.clients.admin.TransactionListing::transactionalId)
              .toList();
      String onPartitions = openOnOffsetsTopic(admin);
      if (ids.isEmpty()) {
        return "no open transactions" + onPartitions;
      }
      List<String> described = new ArrayList<>();
      admin
          .describeTransactions(ids)
          .all()
          .get(10, TimeUnit.SECONDS)
          .forEach(
              (id, d) ->
                  described.add(
                      id
                          + " "
                          + d.state()
                          + " (producer "
                          + d.producerId()
                          + " epoch "
                          + d.producerEpoch()
                          + ") on "
                          + d.topicPartitions()));
      return "open transactions: " + described + onPartitions;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "open transactions unknown (interrupted)";
    } catch (Exception e) {
      return "open transactions unknown (" + e + ")";
    }
  }

  /**
   * Waits for RUNNING, looking every 10 s meanwhile for transactions a killed run left hanging on
   * the partitions the validator commits to and writes (a start that stalls on its committed
   * offsets is the sign of one), and aborting them.
   */
  private static boolean awaitRunning(
      CountDownLatch running, ValidatorConfig config, FeatureSpec spec, Clock clock)
      throws InterruptedException {
    long deadline = System.nanoTime() + config.startTimeout().toNanos();
    while (!running.await(
        Math.min(10_000, Math.max(0, (deadline - System.nanoTime()) / 1_000_000)),
        TimeUnit.MILLISECONDS)) {
      if (System.nanoTime() - deadline >= 0) {
        return false;
      }
      try (Admin admin = shortCalls(config)) {
        List<String> topics = new ArrayList<>(List.of("__consumer_offsets", config.dlqTopic()));
        spec.sources().values().forEach(s -> topics.add(s.eventsTopic()));
        HangingTransactions.abort(admin, partitionsOf(admin, topics), HANGING_AFTER, clock);
      } catch (java.util.concurrent.ExecutionException
          | java.util.concurrent.TimeoutException
          | RuntimeException e) {
        LOG.debug("could not look for hanging transactions: {}", e.toString());
      }
    }
    return true;
  }

  /**
   * A transaction open this long without the coordinator knowing it is hanging: a live one ends
   * within the transaction timeout (Kafka Streams: 10 s) or is aborted by the coordinator.
   */
  static final Duration HANGING_AFTER = Duration.ofSeconds(30);

  /** An admin client whose calls give up within seconds: for diagnostics and repairs. */
  private static Admin shortCalls(ValidatorConfig config) {
    return Admin.create(
        KafkaClients.config(
            config.bootstrapServers(),
            Map.of(
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
                5_000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                10_000)));
  }

  /** Every partition of {@code topics}. */
  private static List<TopicPartition> partitionsOf(Admin admin, List<String> topics)
      throws InterruptedException,
          java.util.concurrent.ExecutionException,
          java.util.concurrent.TimeoutException {
    List<TopicPartition> partitions = new ArrayList<>();
    admin
        .describeTopics(topics)
        .allTopicNames()
        .get(10, TimeUnit.SECONDS)
        .forEach(
            (name, d) ->
                d.partitions()
                    .forEach(p -> partitions.add(new TopicPartition(name, p.partition()))));
    return partitions;
  }

  /** The transactions {@code __consumer_offsets}' partitions hold open, or "" when unknown. */
  private static String openOnOffsetsTopic(Admin admin) {
    try {
      return "; open on __consumer_offsets: "
          + HangingTransactions.openOn(admin, partitionsOf(admin, List.of("__consumer_offsets")));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    } catch (Exception e) {
      return "";
    }
  }

  private static void ensureTopics(ValidatorConfig config, FeatureSpec spec) {
    List<NewTopic> topics = new ArrayList<>();
    for (SourceSpec source : spec.sources().values()) {
      topics.add(new NewTopic(source.rawTopic(), config.partitions(), (short) -1));
      topics.add(new NewTopic(source.eventsTopic(), config.partitions(), (short) -1));
    }
    topics.add(new NewTopic(config.dlqTopic(), config.partitions(), (short) -1));
    try (Admin admin = Admin.create(KafkaClients.config(config.bootstrapServers()))) {
      Topics.using(admin).ensure(topics, config.startTimeout());
    }
  }

  static Properties streamsProperties(ValidatorConfig config) {
    Properties p =
        StreamsApps.properties(
            config.applicationId(), config.bootstrapServers(), config.stateDir());
    // Pattern subscription: pick up a new raw.* topic within seconds, not the default 5 minutes.
    p.put(StreamsConfig.consumerPrefix("metadata.max.age.ms"), 5_000);
    return p;
  }

  /**
   * True while the validator processes records (or rebalances); false once it stopped or failed.
   */
  public boolean running() {
    return streams.state().isRunningOrRebalancing();
  }

  /** Why the validator no longer runs, or null while it does. */
  public String stopReason() {
    KafkaStreams.State state = streams.state();
    if (state.isRunningOrRebalancing() || state == KafkaStreams.State.CREATED) {
      return null;
    }
    Throwable e = failure.get();
    return "Kafka Streams is " + state + (e == null ? "" : ": " + e);
  }

  /** Live counters: received, valid and rejected by reason, per source. */
  public IngestCounters counters() {
    return counters;
  }

  /**
   * Stops processing, commits what is done and leaves the consumer group, so that a restarted
   * validator gets its partitions at once instead of after the session timeout. Waits up to 30 s.
   * Idempotent.
   */
  @Override
  public void close() {
    StreamsApps.close(streams);
    LOG.info("validator stopped");
  }
}
