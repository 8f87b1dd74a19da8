package dev.streamscore.scoring;

import dev.streamscore.proto.v1.Prediction;

/** Where predictions are logged. Must never block the caller: drop and count instead. */
@FunctionalInterface
public interface PredictionSink {
  /** Takes {@code prediction} for the log, or drops it (counted) when the log cannot keep up. */
  void publish(Prediction prediction);
}
