package dev.streamscore.scoring.monitor;

import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.ReferenceProfile;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Profiles from the model registry, cached: a version's profile never changes once registered. A
 * version the registry does not know yet, or a registry that does not answer, is asked about again
 * after {@link #RETRY} and not before, so that a burst of its predictions costs one call.
 */
public final class RegistryProfiles implements ProfileSource {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryProfiles.class);
  static final Duration RETRY = Duration.ofSeconds(5);

  private final RegistryClient client;
  private final Clock clock;
  private final Map<String, Map<Long, Optional<ReferenceProfile>>> known = new HashMap<>();
  private final Map<String, Long> nextAsk = new HashMap<>();

  public RegistryProfiles(RegistryClient client, Clock clock) {
    this.client = client.within(RETRY);
    this.clock = clock;
  }

  @Override
  public synchronized Optional<ReferenceProfile> profile(String model, long version) {
    Map<Long, Optional<ReferenceProfile>> versions = known.get(model);
    if (versions != null && versions.containsKey(version)) {
      return versions.get(version);
    }
    long now = clock.millis();
    if (now < nextAsk.getOrDefault(model, Long.MIN_VALUE)) {
      return Optional.empty();
    }
    nextAsk.put(model, now + RETRY.toMillis());
    try {
      Map<Long, Optional<ReferenceProfile>> fetched = new HashMap<>();
      for (ModelVersion v : client.model(model).getVersionsList()) {
        fetched.put(
            v.getVersion(),
            v.getSpec().hasProfile() ? Optional.of(v.getSpec().getProfile()) : Optional.empty());
      }
      known.put(model, fetched);
      return fetched.getOrDefault(version, Optional.empty());
    } catch (RuntimeException e) {
      LOG.debug("cannot read {}'s profiles from the registry: {}", model, e.getMessage());
      return Optional.empty();
    }
  }
}
