package dev.streamscore.ingest;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.AbortTransactionSpec;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeProducersResult;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds and aborts hanging transactions: a transaction a partition holds open (its producer state
 * has a current transaction) while the transaction coordinator has no open transaction of that
 * producer, for longer than any live transaction may last. A process killed together with its
 * broker can leave one behind; on {@code __consumer_offsets} it holds back the committed offsets a
 * restarted exactly-once consumer must read, forever. Aborting writes the abort marker the
 * coordinator never wrote (KIP-664, as {@code kafka-transactions.sh find-hanging} and {@code abort}
 * do).
 */
final class HangingTransactions {
  private static final Logger LOG = LoggerFactory.getLogger(HangingTransactions.class);
  private static final Set<TransactionState> OPEN =
      EnumSet.of(
          TransactionState.ONGOING,
          TransactionState.PREPARE_COMMIT,
          TransactionState.PREPARE_ABORT,
          TransactionState.PREPARE_EPOCH_FENCE);

  private HangingTransactions() {}

  /**
   * The transactions {@code partitions} hold open, as {@code producer P epoch E on TOPIC-N since
   * offset O}: what a partition says, whatever its coordinator says.
   *
   * @throws Exception when Kafka does not answer
   */
  static List<String> openOn(Admin admin, List<TopicPartition> partitions) throws Exception {
    List<String> open = new ArrayList<>();
    admin
        .describeProducers(partitions)
        .all()
        .get(10, TimeUnit.SECONDS)
        .forEach(
            (tp, state) ->
                state.activeProducers().stream()
                    .filter(p -> p.currentTransactionStartOffset().isPresent())
                    .forEach(
                        p ->
                            open.add(
                                "producer "
                                    + p.producerId()
                                    + " epoch "
                                    + p.producerEpoch()
                                    + " on "
                                    + tp
                                    + " since offset "
                                    + p.currentTransactionStartOffset().getAsLong())));
    return open;
  }

  /**
   * Aborts the transactions hanging on {@code partitions} whose last write is older than {@code
   * age}; returns how many it aborted. A failure to ask is logged and counts as none.
   */
  static int abort(Admin admin, List<TopicPartition> partitions, Duration age, Clock clock) {
    try {
      Set<Long> open = new HashSet<>();
      for (TransactionListing t : admin.listTransactions().all().get(10, TimeUnit.SECONDS)) {
        if (OPEN.contains(t.state())) {
          open.add(t.producerId());
        }
      }
      Map<TopicPartition, DescribeProducersResult.PartitionProducerState> states =
          admin.describeProducers(partitions).all().get(10, TimeUnit.SECONDS);
      List<AbortTransactionSpec> hanging = new ArrayList<>();
      long before = clock.millis() - age.toMillis();
      states.forEach(
          (tp, state) -> {
            for (ProducerState p : state.activeProducers()) {
              if (p.currentTransactionStartOffset().isPresent()
                  && !open.contains(p.producerId())
                  && p.lastTimestamp() < before) {
                hanging.add(
                    new AbortTransactionSpec(
                        tp,
                        p.producerId(),
                        (short) p.producerEpoch(),
                        p.coordinatorEpoch().orElse(0)));
              }
            }
          });
      for (AbortTransactionSpec spec : hanging) {
        admin.abortTransaction(spec).all().get(10, TimeUnit.SECONDS);
        LOG.warn(
            "aborted a hanging transaction of producer {} on {}: the coordinator had no open"
                + " transaction for it",
            spec.producerId(),
            spec.topicPartition());
      }
      return hanging.size();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    } catch (Exception e) {
      LOG.debug("could not look for hanging transactions: {}", e.toString());
      return 0;
    }
  }
}
