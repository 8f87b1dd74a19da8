package dev.streamscore.modelsync;

import dev.streamscore.proto.v1.ModelVersion;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One user's hold on a loaded model version: the version cannot close until every lease on it is
 * closed. Take one per request, predict, close it ({@code try (Lease l = agent.acquire(...))}).
 * Thread-safe; {@link #close()} is idempotent.
 */
public final class Lease implements AutoCloseable {
  private final ModelHandle handle;
  private final AtomicBoolean closed = new AtomicBoolean();

  Lease(ModelHandle handle) {
    this.handle = handle;
  }

  public String model() {
    return handle.version().getName();
  }

  public long version() {
    return handle.version().getVersion();
  }

  /** The version's registry entry: inputs in model order, outputs, metrics. */
  public ModelVersion metadata() {
    return handle.version();
  }

  /**
   * Runs the model on {@code input}, one value per declared input, in the declared order.
   *
   * @throws IllegalArgumentException for a vector of the wrong width
   * @throws IllegalStateException after {@link #close()}
   * @throws PredictionException when the model's engine fails on it
   */
  public float[] predict(float[] input) {
    check(input);
    return handle.model().predict(input);
  }

  /**
   * Runs the model on several vectors at once (see {@link ServedModel#predictBatch}).
   *
   * @return one output row per input, in order
   * @throws IllegalArgumentException for a vector of the wrong width
   * @throws IllegalStateException after {@link #close()}
   * @throws PredictionException when the model's engine fails on them
   */
  public float[][] predictBatch(float[][] inputs) {
    for (float[] input : inputs) {
      check(input);
    }
    return handle.model().predictBatch(inputs);
  }

  private void check(float[] input) {
    if (closed.get()) {
      throw new IllegalStateException("the lease on " + handle.describe() + " is closed");
    }
    int width = handle.version().getSpec().getInputsCount();
    if (input.length != width) {
      throw new IllegalArgumentException(
          handle.describe() + " takes " + width + " inputs, got " + input.length);
    }
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      handle.release();
    }
  }
}
