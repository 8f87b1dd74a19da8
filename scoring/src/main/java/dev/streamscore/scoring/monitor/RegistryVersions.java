package dev.streamscore.scoring.monitor;

import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.ModelVersionSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Versions' specs from the model registry, cached: a spec never changes once registered. A version
 * the registry does not know yet, or a registry that does not answer, is asked about again after
 * {@link #RETRY} and not before, so that a burst of its predictions costs one call.
 */
public final class RegistryVersions implements Versions {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryVersions.class);
  static final Duration RETRY = Duration.ofSeconds(5);

  private final RegistryClient client;
  private final Clock clock;
  private final Map<String, Map<Long, ModelVersionSpec>> known = new HashMap<>();
  private final Map<String, Long> nextAsk = new HashMap<>();

  public RegistryVersions(RegistryClient client, Clock clock) {
    this.client = client;
    this.clock = clock;
  }

  @Override
  public synchronized Optional<ModelVersionSpec> spec(String model, long version) {
    Map<Long, ModelVersionSpec> versions = known.get(model);
    if (versions != null && versions.containsKey(version)) {
      return Optional.of(versions.get(version));
    }
    long now = clock.millis();
    if (now < nextAsk.getOrDefault(model, Long.MIN_VALUE)) {
      return Optional.empty();
    }
    nextAsk.put(model, now + RETRY.toMillis());
    try {
      Map<Long, ModelVersionSpec> fetched = new HashMap<>();
      for (ModelVersion v : client.within(RETRY).model(model).getVersionsList()) {
        fetched.put(v.getVersion(), v.getSpec());
      }
      known.put(model, fetched);
      return Optional.ofNullable(fetched.get(version));
    } catch (RuntimeException e) {
      LOG.debug("cannot read {}'s versions from the registry: {}", model, e.getMessage());
      return Optional.empty();
    }
  }
}
