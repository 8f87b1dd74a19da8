package dev.streamscore.scoring.monitor;

import dev.streamscore.proto.v1.ReferenceProfile;
import java.util.Optional;

/** Where the monitor finds a model version's reference profile. */
@FunctionalInterface
public interface ProfileSource {
  /**
   * The profile registered with {@code model} version {@code version}; empty when it has none or it
   * cannot be found now (the monitor asks again later).
   */
  Optional<ReferenceProfile> profile(String model, long version);
}
