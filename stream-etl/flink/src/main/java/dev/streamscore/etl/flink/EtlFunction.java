package dev.streamscore.etl.flink;

import dev.streamscore.etl.FeatureProcessor;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.InMemoryEntityState;
import dev.streamscore.etl.RecordProcessor;
import dev.streamscore.etl.SeenIdStore;
import dev.streamscore.etl.TileKeys;
import dev.streamscore.etl.TileUpdate;
import dev.streamscore.proto.v1.RejectReason;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * The keyed heart of the job: each entity's events, in partition order, through the core's {@link
 * FeatureProcessor}; tile rows and dead letters out. Counts every event in exactly one of: a
 * reason, or accepted (per view: accepted or LATE), as accumulators and metrics named {@code
 * events}, {@code rows}, {@code rejected.<REASON>}, and accumulators {@code late.<view>}.
 *
 * <p>Per-entity batches: events are held, per entity in arrival order, until {@link EtlOperator}
 * flushes (every emit interval, before each checkpoint barrier, at the end of input) or {@link
 * #MAX_HELD} are held; then each entity's whole state is read once, all its held events processed,
 * and the state written once: one keyed-state read and write per entity and flush instead of
 * several per event. A checkpoint therefore never holds an event whose effects are not in it, and
 * after a failure the source's replay makes the same batches' results again.
 *
 * <p>State: one value per entity, the core's {@link InMemoryEntityState} bytes (greatest event time
 * and open tiles), and its seen event ids in a map beside it, one entry per id: a busy entity
 * remembers thousands, and rewriting them all with its value after every batch kept RocksDB busy
 * compacting. Jobs before it kept several entries (greatest event time, seen ids, a map of tiles
 * per view); an entity restored from such a savepoint is moved to the one value when it is next
 * read, so an upgrade keeps its state; a value that holds seen ids (written by the job before this
 * one) hands them to the map the same way.
 */
final class EtlFunction extends KeyedProcessFunction<String, EventRecord, KafkaOut> {
  private static final long serialVersionUID = 1L;
  static final String STAGE = "etl-flink";

  /** The most events held before they are processed without waiting for the next flush. */
  static final int MAX_HELD = 10_000;

  // The spec travels as text: its records hold Optionals, which are not Serializable.
  private final String specYaml;
  private final String specOrigin;
  private final String source;
  private final String dlqTopic;
  private final long emitIntervalMs;

  private transient FeatureProcessor processor;
  private transient RecordProcessor records;
  private transient ValueState<byte[]> entityState;
  private transient FlinkEntityState legacy;
  private transient SeenIdStore seenIds;
  // Whether this subtask restored entries of the earlier layout; until then, a new entity costs
  // one state read instead of two.
  private transient boolean legacyPresent = true;
  private transient LongCounter events;
  private transient LongCounter rows;
  private transient LongCounter moved;
  private transient Map<RejectReason, LongCounter> rejected;
  private transient Counter eventsMetric;
  private transient Map<RejectReason, Counter> rejectedMetric;
  private transient Map<String, LongCounter> late;
  private transient Consumer<String> keys;

  // Events not yet processed, per entity in arrival order; not state: they are processed before
  // every checkpoint barrier, and after a failure the source reads them again.
  private transient Map<String, List<Held>> held;
  private transient int heldCount;

  // Rows not yet emitted, latest version per tile, in first-change order; emitted with the events
  // that made them, so the same holds.
  private transient Map<PendingTile, TileUpdate> pending;

  /** An event waiting for its entity's batch, with the processing time it arrived at. */
  private record Held(RecordProcessor.Record record, long arrivedMs) {}

  /**
   * @param emitIntervalMs 0 processes each event as it arrives and emits every tile row as it
   *     changes; otherwise events are held per entity and the latest row of each changed tile is
   *     emitted by {@link EtlOperator} every this many ms, before every checkpoint and at the end
   *     of input
   */
  EtlFunction(
      String specYaml, String specOrigin, String source, String dlqTopic, long emitIntervalMs) {
    this.specYaml = specYaml;
    this.specOrigin = specOrigin;
    this.source = source;
    this.dlqTopic = dlqTopic;
    this.emitIntervalMs = emitIntervalMs;
  }

  /** Whether the subtask's keyed state holds entities of the earlier layout (checked once). */
  void legacyPresent(boolean present) {
    this.legacyPresent = present;
  }

  /** How the function switches the keyed state to another entity: the operator's current key. */
  void keys(Consumer<String> keys) {
    this.keys = keys;
  }

  /** Processes the held events and emits the rows they changed. */
  void flush(Consumer<KafkaOut> sink, long now) {
    processHeld(sink);
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
  public void open(OpenContext context) {
    FeatureSpec spec = FeatureSpec.parse(specYaml, specOrigin);
    processor = FeatureProcessor.of(spec, source, "flink");
    records = new RecordProcessor(processor, source, STAGE);
    entityState =
        getRuntimeContext()
            .getState(
                new ValueStateDescriptor<>(
                    "entity", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
    legacy = FlinkEntityState.registered(getRuntimeContext(), processor.views());
    seenIds = legacy.seenIds();
    held = new LinkedHashMap<>();
    pending = new LinkedHashMap<>();
    events = getRuntimeContext().getLongCounter("events");
    rows = getRuntimeContext().getLongCounter("rows");
    moved = getRuntimeContext().getLongCounter("entities.moved");
    eventsMetric = getRuntimeContext().getMetricGroup().counter("events");
    rejected = new EnumMap<>(RejectReason.class);
    rejectedMetric = new EnumMap<>(RejectReason.class);
    late = new java.util.HashMap<>();
    for (dev.streamscore.etl.ViewSpec view : processor.views()) {
      late.put(view.name(), getRuntimeContext().getLongCounter("late." + view.name()));
    }
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
    RecordProcessor.Record r =
        new RecordProcessor.Record(
            record.topic,
            record.partition,
            record.offset,
            record.timestamp,
            record.key,
            record.value);
    if (emitIntervalMs == 0) {
      InMemoryEntityState state = load();
      records.process(state, record.entityId, r, now, sink(out::collect, now));
      entityState(state);
      return;
    }
    held.computeIfAbsent(record.entityId, k -> new ArrayList<>(2)).add(new Held(r, now));
    if (++heldCount >= MAX_HELD) {
      processHeld(out::collect);
    }
  }

  /** Each entity's held events with one state read and one state write. */
  private void processHeld(Consumer<KafkaOut> out) {
    if (heldCount == 0) {
      return;
    }
    for (Map.Entry<String, List<Held>> entity : held.entrySet()) {
      keys.accept(entity.getKey());
      InMemoryEntityState state = load();
      for (Held h : entity.getValue()) {
        records.process(
            state, entity.getKey(), h.record(), h.arrivedMs(), sink(out, h.arrivedMs()));
      }
      entityState(state);
    }
    held.clear();
    heldCount = 0;
  }

  private RecordProcessor.Sink sink(Consumer<KafkaOut> out, long now) {
    return new RecordProcessor.Sink() {
      @Override
      public void row(TileUpdate update) {
        if (emitIntervalMs == 0) {
          rows.add(1);
          out.accept(EtlFunction.row(update, now));
        } else {
          pending.put(
              new PendingTile(update.view(), update.entityId(), update.tileStartMs()), update);
        }
      }

      @Override
      public void rejected(RejectReason reason, String view) {
        rejected.get(reason).add(1);
        rejectedMetric.get(reason).inc();
        LongCounter lateForView = late.get(view);
        if (lateForView != null) {
          lateForView.add(1);
        }
      }

      @Override
      public void deadLetter(byte[] key, byte[] deadLetter) {
        out.accept(new KafkaOut(dlqTopic, null, key, deadLetter, now));
      }
    };
  }

  /** The current entity's state: its one value, or what an earlier job's entries held, or new. */
  private InMemoryEntityState load() {
    try {
      byte[] bytes = entityState.value();
      if (bytes != null) {
        return InMemoryEntityState.fromBytes(bytes, seenIds);
      }
    } catch (Exception e) {
      throw new IllegalStateException("Flink keyed state: cannot read an entity's state", e);
    }
    InMemoryEntityState state = new InMemoryEntityState(seenIds);
    if (legacyPresent && legacy.maxEventTime() != Long.MIN_VALUE) {
      legacy.moveTo(state);
      moved.add(1);
    }
    return state;
  }

  private void entityState(InMemoryEntityState state) {
    try {
      entityState.update(state.toBytes());
    } catch (Exception e) {
      throw new IllegalStateException("Flink keyed state: cannot write an entity's state", e);
    }
  }

  /** A tile changed since the last flush: its latest update is the one written. */
  private record PendingTile(String view, String entityId, long tileStartMs) {}
}
