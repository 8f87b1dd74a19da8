package dev.streamscore.etl.flink;

import java.util.stream.Stream;
import org.apache.flink.api.common.accumulators.LongMaximum;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.tasks.ProcessingTimeService;

/**
 * Runs {@link EtlFunction}, processes the events it holds and emits the tile rows they changed:
 * every {@code emitIntervalMs}, before each checkpoint barrier (so a checkpoint's state and
 * transaction hold every effect of the events before it), and at the end of input. A hot entity
 * then writes one row per tile per interval instead of one per event; readers, who keep the
 * greatest version of each tile, see the same final rows.
 */
final class EtlOperator extends KeyedProcessOperator<String, EventRecord, KafkaOut> {
  private static final long serialVersionUID = 1L;

  /** The accumulator of the newest completed checkpoint's wall time, ms since the epoch. */
  static final String CHECKPOINT_COMPLETED_AT = dev.streamscore.etl.EtlJobs.CHECKPOINT_COMPLETED_AT;

  private final long emitIntervalMs;
  private transient LongMaximum checkpointed;

  EtlOperator(EtlFunction function, long emitIntervalMs) {
    super(function);
    this.emitIntervalMs = emitIntervalMs;
  }

  @Override
  public void open() throws Exception {
    super.open();
    checkpointed = new LongMaximum();
    getRuntimeContext().addAccumulator(CHECKPOINT_COMPLETED_AT, checkpointed);
    EtlFunction function = (EtlFunction) getUserFunction();
    function.keys(this::setCurrentKey);
    // After open, the function's states are registered and whatever was restored is there.
    try (Stream<?> restored =
        getKeyedStateBackend().getKeys(FlinkEntityState.MAX_EVENT_TIME, VoidNamespace.INSTANCE)) {
      function.legacyPresent(restored.findAny().isPresent());
    }
    if (emitIntervalMs > 0) {
      scheduleFlush();
    }
  }

  private void scheduleFlush() {
    ProcessingTimeService time = getProcessingTimeService();
    time.registerTimer(
        time.getCurrentProcessingTime() + emitIntervalMs,
        now -> {
          flush();
          scheduleFlush();
        });
  }

  @Override
  public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
    flush();
    super.prepareSnapshotPreBarrier(checkpointId);
  }

  /** Wall time of the newest checkpoint this subtask saw complete: the job's checkpoint age. */
  @Override
  public void notifyCheckpointComplete(long checkpointId) throws Exception {
    super.notifyCheckpointComplete(checkpointId);
    checkpointed.add(System.currentTimeMillis());
  }

  @Override
  public void finish() throws Exception {
    flush();
    super.finish();
  }

  private void flush() {
    ((EtlFunction) getUserFunction())
        .flush(
            row -> output.collect(new StreamRecord<>(row)),
            getProcessingTimeService().getCurrentProcessingTime());
  }
}
