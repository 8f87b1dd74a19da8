package dev.streamscore.scoring.monitor;

import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.ModelVersionSpec;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
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
 * {@link #RETRY} and not before, so that a burst of its predictions costs one call. A registry that
 * does not answer is {@link Versions.Unavailable}, never an unknown version: the monitor must not
 * count a fresh start's first predictions unmonitored because the registry was slow to answer.
 */
public final class RegistryVersions implements Versions {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryVersions.class);
  static final Duration RETRY = Duration.ofSeconds(5);

  private final RegistryClient client;
  private final Clock clock;
  private final Map<String, Map<Long, ModelVersionSpec>> known = new HashMap<>();
  private final Map<String, Long> nextAsk = new HashMap<>();
  private final Map<String, String> unanswered = new HashMap<>();

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
      String why = unanswered.get(model);
      if (why != null) {
        throw new Versions.Unavailable(why);
      }
      return Optional.empty();
    }
    nextAsk.put(model, now + RETRY.toMillis());
    try {
      Map<Long, ModelVersionSpec> fetched = new HashMap<>();
      for (ModelVersion v : client.within(RETRY).model(model).getVersionsList()) {
        fetched.put(v.getVersion(), v.getSpec());
      }
      known.put(model, fetched);
      unanswered.remove(model);
      return Optional.ofNullable(fetched.get(version));
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
        unanswered.remove(model);
        return Optional.empty(); // the registry answered: no such model
      }
      throw unavailable(model, e.getStatus().toString());
    } catch (RuntimeException e) {
      throw unavailable(model, e.toString());
    }
  }

  private Versions.Unavailable unavailable(String model, String reason) {
    String why = "cannot read " + model + "'s versions from the registry: " + reason;
    unanswered.put(model, why);
    LOG.debug(why);
    return new Versions.Unavailable(why);
  }
}
