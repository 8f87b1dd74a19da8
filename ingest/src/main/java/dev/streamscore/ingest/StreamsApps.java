package dev.streamscore.ingest;

import dev.streamscore.kafka.KafkaClients;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;

/**
 * What our Kafka Streams applications (the validator, stream scoring) share: exactly-once v2 with
 * one stream thread, defects routed to the processing-exception handler, a short session so a
 * restart after a crash is not held back long, and a close that leaves the group.
 */
public final class StreamsApps {
  private StreamsApps() {}

  /** The settings every application of ours starts from. */
  public static Properties properties(String applicationId, String bootstrap, Path stateDir) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    p.putAll(KafkaClients.config(bootstrap));
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toAbsolutePath().toString());
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    // The future default; setting it keeps start-up free of Kafka's deprecation warning.
    p.put("processing.exception.handler.global.enabled", true);
    // After a crash (no leave-group) the next start waits for the old member's session to expire:
    // the broker's least (group.min.session.timeout.ms). Static membership would skip the wait,
    // but a validator restarted as the same static member then validated at a tenth of its speed.
    p.put(StreamsConfig.consumerPrefix("session.timeout.ms"), 6_000);
    p.put(StreamsConfig.consumerPrefix("heartbeat.interval.ms"), 1_500);
    return p;
  }

  /**
   * Stops processing, commits what is done and leaves the consumer group, so that a restarted
   * application gets its partitions at once instead of after the session timeout. Up to 30 s.
   */
  public static void close(KafkaStreams streams) {
    streams.close(
        CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
            .withTimeout(Duration.ofSeconds(30)));
  }
}
