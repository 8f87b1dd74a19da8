package dev.streamscore.scoring.monitor;

import dev.streamscore.proto.v1.ModelVersionSpec;
import java.util.Optional;

/** Where the monitor finds what a model version was registered with (its profile, its outputs). */
@FunctionalInterface
public interface Versions {
  /**
   * {@code model} version {@code version}'s spec; empty when the registry does not know it (its
   * predictions are counted unmonitored).
   *
   * @throws Unavailable when the registry cannot be asked now: the monitor holds the prediction and
   *     reads it again later, rather than count it unmonitored
   */
  Optional<ModelVersionSpec> spec(String model, long version);

  /** The registry cannot answer now. */
  final class Unavailable extends RuntimeException {
    public Unavailable(String message) {
      super(message, null, false, false);
    }
  }
}
