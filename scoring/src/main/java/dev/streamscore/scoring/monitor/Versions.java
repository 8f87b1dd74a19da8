package dev.streamscore.scoring.monitor;

import dev.streamscore.proto.v1.ModelVersionSpec;
import java.util.Optional;

/** Where the monitor finds what a model version was registered with (its profile, its outputs). */
@FunctionalInterface
public interface Versions {
  /**
   * {@code model} version {@code version}'s spec; empty when it cannot be found now (the monitor
   * asks again later).
   */
  Optional<ModelVersionSpec> spec(String model, long version);
}
