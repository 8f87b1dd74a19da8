package dev.streamscore.kafka;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Creates topics and waits until they can safely be produced to.
 *
 * <p>Producing right after {@code createTopics} returns can lose records (KAFKA-15591: seen here,
 * 2,383 records acknowledged and then gone). {@link #ensure} therefore returns only once every
 * partition of every topic answers a {@code listOffsets} request from its leader. Use it before the
 * first record is written to any topic this platform creates.
 *
 * <p>Thread-safe: holds no state beyond the caller's {@link Admin}.
 */
public final class Topics {
  private static final Duration POLL_INTERVAL = Duration.ofMillis(50);

  private final Admin admin;
  private final Clock clock;

  /**
   * @param admin the client to use; not closed by this class
   * @param clock measures the deadline
   */
  public Topics(Admin admin, Clock clock) {
    this.admin = admin;
    this.clock = clock;
  }

  /** A helper on the system clock. */
  public static Topics using(Admin admin) {
    return new Topics(admin, Clock.systemUTC());
  }

  /**
   * Creates the topics that do not exist yet and waits until every partition of all of them
   * answers. Topics that already exist are left as they are, but must have at least the requested
   * number of partitions.
   *
   * @throws TopicsNotReadyException if the deadline passes first, naming the partitions that did
   *     not answer
   * @throws IllegalStateException if an existing topic has fewer partitions than requested
   */
  public void ensure(Collection<NewTopic> topics, Duration timeout) {
    Instant deadline = clock.instant().plus(timeout);
    createMissing(topics, deadline);
    Map<String, Integer> wanted = new HashMap<>();
    for (NewTopic topic : topics) {
      wanted.put(topic.name(), topic.numPartitions() < 0 ? 1 : topic.numPartitions());
    }
    awaitReady(wanted, deadline);
  }

  /** Waits until every partition of the existing topics answers {@code listOffsets}. */
  public void awaitReady(Collection<String> topicNames, Duration timeout) {
    Map<String, Integer> wanted = new HashMap<>();
    topicNames.forEach(name -> wanted.put(name, 1));
    awaitReady(wanted, clock.instant().plus(timeout));
  }

  private void createMissing(Collection<NewTopic> topics, Instant deadline) {
    if (topics.isEmpty()) {
      return;
    }
    var result = admin.createTopics(topics);
    for (var entry : result.values().entrySet()) {
      try {
        entry.getValue().get(remainingMillis(deadline), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw new KafkaOperationException("create topic '" + entry.getKey() + "'", e.getCause());
        }
      } catch (TimeoutException e) {
        throw new TopicsNotReadyException(
            "topic '" + entry.getKey() + "' was not created before the deadline");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new KafkaOperationException("create topic '" + entry.getKey() + "'", e);
      }
    }
  }

  private void awaitReady(Map<String, Integer> minPartitions, Instant deadline) {
    Set<String> names = minPartitions.keySet();
    List<TopicPartition> pending = null;
    String lastProblem = "no answer yet";
    while (true) {
      try {
        if (pending == null) {
          pending = partitionsOf(names, minPartitions, deadline);
        }
        pending = unanswered(pending, deadline);
        if (pending.isEmpty()) {
          return;
        }
        lastProblem = pending.size() + " partition(s) without a leader: " + pending;
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException)
            && !(e.getCause() instanceof org.apache.kafka.common.errors.RetriableException)) {
          throw new KafkaOperationException("wait for topics " + names, e.getCause());
        }
        lastProblem = e.getCause().getMessage();
      } catch (TimeoutException e) {
        lastProblem = "broker did not answer";
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new KafkaOperationException("wait for topics " + names, e);
      }
      if (!clock.instant().isBefore(deadline)) {
        throw new TopicsNotReadyException(
            "topics " + names + " were not ready before the deadline: " + lastProblem);
      }
      try {
        Thread.sleep(POLL_INTERVAL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new KafkaOperationException("wait for topics " + names, e);
      }
    }
  }

  private List<TopicPartition> partitionsOf(
      Set<String> names, Map<String, Integer> minPartitions, Instant deadline)
      throws ExecutionException, InterruptedException, TimeoutException {
    Map<String, TopicDescription> descriptions =
        admin
            .describeTopics(names)
            .allTopicNames()
            .get(remainingMillis(deadline), TimeUnit.MILLISECONDS);
    List<TopicPartition> partitions = new ArrayList<>();
    for (TopicDescription description : descriptions.values()) {
      int have = description.partitions().size();
      int want = minPartitions.getOrDefault(description.name(), 1);
      if (have < want) {
        throw new IllegalStateException(
            "topic '"
                + description.name()
                + "' exists with "
                + have
                + " partition(s) but "
                + want
                + " are required; delete it or add partitions");
      }
      description
          .partitions()
          .forEach(p -> partitions.add(new TopicPartition(description.name(), p.partition())));
    }
    return partitions;
  }

  private List<TopicPartition> unanswered(List<TopicPartition> partitions, Instant deadline)
      throws InterruptedException, TimeoutException {
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    partitions.forEach(tp -> request.put(tp, OffsetSpec.latest()));
    var result = admin.listOffsets(request, new ListOffsetsOptions());
    List<TopicPartition> failed = new ArrayList<>();
    for (TopicPartition tp : partitions) {
      try {
        result.partitionResult(tp).get(remainingMillis(deadline), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        failed.add(tp);
      }
    }
    return failed;
  }

  private long remainingMillis(Instant deadline) {
    return Math.max(1, Duration.between(clock.instant(), deadline).toMillis());
  }
}
