package dev.streamscore.featurestore;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.kafka.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;

/**
 * The {@code features.<view>} topics a spec's views need: as many partitions as the events topics,
 * so an entity's tiles sit in the partition of its events; compacted to one record per tile, and
 * deleted after a week or twice the longest window, whichever is longer.
 */
public final class FeatureTopics {
  /** As the validator's events topics. */
  public static final int PARTITIONS = 4;

  private FeatureTopics() {}

  /** One topic per view of {@code spec}. */
  public static List<NewTopic> of(FeatureSpec spec) {
    List<NewTopic> topics = new ArrayList<>();
    for (ViewSpec view : spec.views().values()) {
      long retention = Math.max(Duration.ofDays(7).toMillis(), 2 * view.longestWindowMs());
      topics.add(
          new NewTopic(view.topic(), PARTITIONS, (short) -1)
              .configs(
                  Map.of(
                      "cleanup.policy",
                      "compact,delete",
                      "retention.ms",
                      Long.toString(retention))));
    }
    return topics;
  }

  /**
   * Creates the topics that do not exist yet and waits until every one has its leaders.
   *
   * @throws dev.streamscore.kafka.KafkaOperationException when they are not ready within {@code
   *     timeout}
   */
  public static void ensure(Admin admin, FeatureSpec spec, Duration timeout) {
    Topics.using(admin).ensure(of(spec), timeout);
  }
}
