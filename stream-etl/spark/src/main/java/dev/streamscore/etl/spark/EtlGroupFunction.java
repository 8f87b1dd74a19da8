package dev.streamscore.etl.spark;

import dev.streamscore.etl.FeatureProcessor;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.InMemoryEntityState;
import dev.streamscore.etl.RecordProcessor;
import dev.streamscore.etl.TileKeys;
import dev.streamscore.etl.TileUpdate;
import dev.streamscore.proto.v1.RejectReason;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.FlatMapGroupsWithStateFunction;
import org.apache.spark.sql.streaming.GroupState;
import org.apache.spark.util.LongAccumulator;

/**
 * The keyed heart of the job: one entity's events of a micro-batch, in Kafka offset order, through
 * the core's {@link RecordProcessor} with the entity's state; out come the latest row of each tile
 * the batch changed, and dead letters. The state is the core's {@link InMemoryEntityState} carried
 * as bytes in Spark's state store, so it is checkpointed with the batch.
 *
 * <p>Spark does not keep a group's rows in arrival order through the shuffle, hence the sort: an
 * entity's events all come from one partition, so their offsets order them as Kafka does.
 */
final class EtlGroupFunction
    implements FlatMapGroupsWithStateFunction<String, EventRow, byte[], OutRow> {
  private static final long serialVersionUID = 1L;
  static final String STAGE = "etl-spark";

  // The spec travels as text: its records hold Optionals, which are not Serializable.
  private final String specYaml;
  private final String specOrigin;
  private final String source;
  private final String dlqTopic;
  private final Map<String, Integer> partitions;
  private final Counters counters;

  private transient RecordProcessor records;

  /**
   * @param partitions the partition count of every topic the job writes (each view's and the DLQ)
   */
  EtlGroupFunction(
      String specYaml,
      String specOrigin,
      String source,
      String dlqTopic,
      Map<String, Integer> partitions,
      Counters counters) {
    this.specYaml = specYaml;
    this.specOrigin = specOrigin;
    this.source = source;
    this.dlqTopic = dlqTopic;
    this.partitions = Map.copyOf(partitions);
    this.counters = counters;
  }

  @Override
  public Iterator<OutRow> call(
      String entityId, Iterator<EventRow> values, GroupState<byte[]> group) {
    if (records == null) {
      FeatureSpec spec = FeatureSpec.parse(specYaml, specOrigin);
      records = new RecordProcessor(FeatureProcessor.of(spec, source, "spark"), source, STAGE);
    }
    List<EventRow> events = new ArrayList<>();
    values.forEachRemaining(events::add);
    events.sort(
        Comparator.comparingInt(EventRow::getPartition).thenComparingLong(EventRow::getOffset));
    InMemoryEntityState state =
        group.exists() ? InMemoryEntityState.fromBytes(group.get()) : new InMemoryEntityState();
    long now = System.currentTimeMillis();
    List<OutRow> out = new ArrayList<>();
    // Latest row per tile changed in this batch, in first-change order.
    Map<String, TileUpdate> changed = new LinkedHashMap<>();
    RecordProcessor.Sink sink =
        new RecordProcessor.Sink() {
          @Override
          public void row(TileUpdate update) {
            changed.put(update.view() + '|' + update.tileStartMs(), update);
          }

          @Override
          public void rejected(RejectReason reason, String view) {
            counters.rejected(reason, view);
          }

          @Override
          public void deadLetter(byte[] key, byte[] deadLetter) {
            // A record without a key (the null entity) still needs a partition.
            out.add(
                new OutRow(
                    dlqTopic,
                    partition(dlqTopic, entityId == null ? "" : entityId),
                    key,
                    deadLetter));
          }
        };
    for (EventRow e : events) {
      counters.events.add(1);
      records.process(
          state,
          entityId,
          new RecordProcessor.Record(
              e.getTopic(),
              e.getPartition(),
              e.getOffset(),
              e.getTimestampMs(),
              e.getKey(),
              e.getValue()),
          now,
          sink);
    }
    for (TileUpdate update : changed.values()) {
      out.add(
          new OutRow(
              update.topic(),
              partition(update.topic(), entityId),
              TileKeys.key(entityId, update.tileStartMs()),
              update.bytes()));
    }
    counters.rows.add(changed.size());
    group.update(state.toBytes());
    return out.iterator();
  }

  private int partition(String topic, String entityId) {
    Integer count = partitions.get(topic);
    if (count == null) {
      throw new IllegalStateException("no partition count for topic " + topic);
    }
    return TileKeys.partition(entityId, count);
  }

  /** The job's counts, as Spark accumulators: events in, rows out, rejections by reason. */
  static final class Counters implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    final LongAccumulator events;
    final LongAccumulator rows;
    final Map<RejectReason, LongAccumulator> rejected;
    final Map<String, LongAccumulator> late = new java.util.TreeMap<>();

    Counters(org.apache.spark.SparkContext spark, java.util.Collection<String> views) {
      for (String view : views) {
        late.put(view, spark.longAccumulator("late." + view));
      }
      events = spark.longAccumulator("events");
      rows = spark.longAccumulator("rows");
      rejected = new java.util.EnumMap<>(RejectReason.class);
      for (RejectReason reason : RejectReason.values()) {
        if (reason != RejectReason.UNRECOGNIZED
            && reason != RejectReason.REJECT_REASON_UNSPECIFIED) {
          rejected.put(
              reason,
              spark.longAccumulator(
                  "rejected." + reason.name().substring("REJECT_REASON_".length())));
        }
      }
    }

    void rejected(RejectReason reason, String view) {
      rejected.get(reason).add(1);
      LongAccumulator lateForView = late.get(view);
      if (lateForView != null) {
        lateForView.add(1);
      }
    }

    /**
     * Events, rows, rejections by reason ({@code rejected.LATE}) and LATE events per view ({@code
     * late.user_txn}), as the job prints them.
     */
    Map<String, Long> snapshot() {
      Map<String, Long> counts = new java.util.TreeMap<>();
      counts.put("events", events.value());
      counts.put("rows", rows.value());
      rejected.forEach(
          (reason, acc) ->
              counts.put(
                  "rejected." + reason.name().substring("REJECT_REASON_".length()), acc.value()));
      late.forEach((view, acc) -> counts.put("late." + view, acc.value()));
      return counts;
    }

    /** Rejections by reason, those with none left out. */
    Map<RejectReason, Long> rejectedCounts() {
      Map<RejectReason, Long> counts = new java.util.EnumMap<>(RejectReason.class);
      rejected.forEach(
          (reason, acc) -> {
            if (acc.value() > 0) {
              counts.put(reason, acc.value());
            }
          });
      return counts;
    }
  }
}
