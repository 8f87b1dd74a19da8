package dev.streamscore.etl.flink;

import dev.streamscore.etl.FeatureProcessor;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.RecordProcessor;
import dev.streamscore.etl.TileKeys;
import dev.streamscore.etl.TileUpdate;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.proto.v1.RejectReason;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * The keyed heart of the job: each entity's events, in partition order, through the core's {@link
 * FeatureProcessor}; tile rows and dead letters out. Counts every event in exactly one of: a
 * reason, or accepted (per view: accepted or LATE), as accumulators and metrics named {@code
 * events}, {@code rows}, {@code rejected.<REASON>}.
 */
final class EtlFunction extends KeyedProcessFunction<String, EventRecord, KafkaOut> {
  private static final long serialVersionUID = 1L;
  static final String STAGE = "etl-flink";

  // The spec travels as text: its records hold Optionals, which are not Serializable.
  private final String specYaml;
  private final String specOrigin;
  private final String source;
  private final String dlqTopic;
  private final long emitIntervalMs;

  private transient FeatureProcessor processor;
  private transient RecordProcessor records;
  private transient FlinkEntityState state;
  private transient LongCounter events;
  private transient LongCounter rows;
  private transient Map<RejectReason, LongCounter> rejected;
  private transient Counter eventsMetric;
  private transient Map<RejectReason, Counter> rejectedMetric;

  // Rows not yet emitted, latest version per tile, in first-change order. Not state: they are
  // emitted before every checkpoint barrier, and after a failure the replay makes them again.
  private transient Map<String, TileUpdate> pending;

  /**
   * @param emitIntervalMs 0 emits every tile row as it changes; otherwise the latest row of each
   *     changed tile is held and emitted by {@link EtlOperator} every this many ms, before every
   *     checkpoint and at the end of input
   */
  EtlFunction(
      String specYaml, String specOrigin, String source, String dlqTopic, long emitIntervalMs) {
    this.specYaml = specYaml;
    this.specOrigin = specOrigin;
    this.source = source;
    this.dlqTopic = dlqTopic;
    this.emitIntervalMs = emitIntervalMs;
  }

  /** Emits the held rows. */
  void flush(java.util.function.Consumer<KafkaOut> sink, long now) {
    if (pending.isEmpty()) {
      return;
    }
    for (TileUpdate update : pending.values()) {
      rows.add(1);
      sink.accept(row(update, now));
    }
    pending.clear();
  }

  private static KafkaOut row(TileUpdate update, long now) {
    return new KafkaOut(
        update.topic(),
        update.entityId(),
        TileKeys.key(update.entityId(), update.tileStartMs()),
        update.bytes(),
        now);
  }

  @Override
  @SuppressWarnings("unchecked")
  public void open(OpenContext context) {
    FeatureSpec spec = FeatureSpec.parse(specYaml, specOrigin);
    processor = FeatureProcessor.of(spec, source, "flink");
    records = new RecordProcessor(processor, source, STAGE);
    List<ViewSpec> views = processor.views();
    MapState<Long, byte[]>[] tiles = new MapState[views.size()];
    for (int i = 0; i < tiles.length; i++) {
      // Named per view, so adding a view to the spec keeps the others' state on restore.
      tiles[i] =
          getRuntimeContext()
              .getMapState(
                  new MapStateDescriptor<>(
                      "tiles." + views.get(i).name(),
                      Types.LONG,
                      PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
    }
    state =
        new FlinkEntityState(
            getRuntimeContext().getState(new ValueStateDescriptor<>("max-event-time", Types.LONG)),
            getRuntimeContext()
                .getMapState(new MapStateDescriptor<>("seen", Types.STRING, Types.LONG)),
            tiles);
    pending = new java.util.LinkedHashMap<>();
    events = getRuntimeContext().getLongCounter("events");
    rows = getRuntimeContext().getLongCounter("rows");
    eventsMetric = getRuntimeContext().getMetricGroup().counter("events");
    rejected = new EnumMap<>(RejectReason.class);
    rejectedMetric = new EnumMap<>(RejectReason.class);
    for (RejectReason reason : RejectReason.values()) {
      if (reason != RejectReason.UNRECOGNIZED && reason != RejectReason.REJECT_REASON_UNSPECIFIED) {
        String name = "rejected." + reason.name().substring("REJECT_REASON_".length());
        rejected.put(reason, getRuntimeContext().getLongCounter(name));
        rejectedMetric.put(reason, getRuntimeContext().getMetricGroup().counter(name));
      }
    }
  }

  @Override
  public void processElement(EventRecord record, Context ctx, Collector<KafkaOut> out) {
    events.add(1);
    eventsMetric.inc();
    long now = ctx.timerService().currentProcessingTime();
    records.process(
        state,
        record.entityId,
        new RecordProcessor.Record(
            record.topic,
            record.partition,
            record.offset,
            record.timestamp,
            record.key,
            record.value),
        now,
        new RecordProcessor.Sink() {
          @Override
          public void row(TileUpdate update) {
            if (emitIntervalMs == 0) {
              rows.add(1);
              out.collect(EtlFunction.row(update, now));
            } else {
              pending.put(
                  update.view() + '|' + update.entityId() + '@' + update.tileStartMs(), update);
            }
          }

          @Override
          public void rejected(RejectReason reason) {
            rejected.get(reason).add(1);
            rejectedMetric.get(reason).inc();
          }

          @Override
          public void deadLetter(byte[] key, byte[] deadLetter) {
            out.collect(new KafkaOut(dlqTopic, null, key, deadLetter, now));
          }
        });
  }
}
