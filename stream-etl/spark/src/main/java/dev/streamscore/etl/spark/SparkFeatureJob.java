package dev.streamscore.etl.spark;

import dev.streamscore.etl.TopicNames;
import java.util.Map;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.streaming.GroupStateTimeout;
import org.apache.spark.sql.streaming.OutputMode;

/** The job's dataflow, separate from its sources and sinks so tests can feed it without Kafka. */
public final class SparkFeatureJob {
  /** Where dead letters go unless told otherwise. */
  public static final String DLQ_TOPIC = TopicNames.DLQ;

  private SparkFeatureJob() {}

  /**
   * Events of one source, keyed by entity, through the core with per-entity state: tile rows and
   * dead letters out.
   */
  static Dataset<OutRow> features(
      Dataset<EventRow> events,
      String specYaml,
      String specOrigin,
      String source,
      String dlqTopic,
      Map<String, Integer> partitions,
      EtlGroupFunction.Counters counters) {
    return events
        .groupByKey((MapFunction<EventRow, String>) EventRow::getEntityId, Encoders.STRING())
        .flatMapGroupsWithState(
            new EtlGroupFunction(specYaml, specOrigin, source, dlqTopic, partitions, counters),
            OutputMode.Append(),
            Encoders.BINARY(),
            Encoders.bean(OutRow.class),
            GroupStateTimeout.NoTimeout());
  }
}
