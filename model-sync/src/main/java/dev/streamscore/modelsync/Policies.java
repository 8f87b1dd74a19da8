package dev.streamscore.modelsync;

import dev.streamscore.proto.v1.TrafficPolicy;
import dev.streamscore.proto.v1.TrafficSplit;
import java.nio.charset.StandardCharsets;
import java.util.StringJoiner;
import java.util.concurrent.ThreadLocalRandom;

/** Reading traffic policies: which version serves a request, and a one-line description. */
public final class Policies {
  private Policies() {}

  /**
   * The version of {@code policy} that serves {@code routingKey}: each version gets its weight's
   * share of keys, and a key keeps its version as long as the weights stay (sticky). An empty key
   * is routed at random.
   *
   * @throws IllegalArgumentException for a policy without splits
   */
  public static long route(TrafficPolicy policy, String routingKey) {
    if (policy.getSplitsCount() == 0) {
      throw new IllegalArgumentException("the policy has no splits");
    }
    if (policy.getSplitsCount() == 1) {
      return policy.getSplits(0).getVersion();
    }
    long total = 0;
    for (TrafficSplit s : policy.getSplitsList()) {
      total += s.getWeight();
    }
    long point =
        routingKey.isEmpty()
            ? ThreadLocalRandom.current().nextLong(total)
            : Math.floorMod(hash(routingKey), total);
    for (TrafficSplit s : policy.getSplitsList()) {
      point -= s.getWeight();
      if (point < 0) {
        return s.getVersion();
      }
    }
    throw new AssertionError("weights sum to " + total);
  }

  /** {@code v2}, or {@code v1 90%, v2 10%, shadow v3}. */
  public static String describe(TrafficPolicy policy) {
    StringJoiner out = new StringJoiner(", ");
    long total = policy.getSplitsList().stream().mapToLong(TrafficSplit::getWeight).sum();
    for (TrafficSplit s : policy.getSplitsList()) {
      out.add(
          policy.getSplitsCount() == 1
              ? "v" + s.getVersion()
              : "v" + s.getVersion() + " " + Math.round(100.0 * s.getWeight() / total) + "%");
    }
    if (policy.getShadowVersion() != 0) {
      out.add("shadow v" + policy.getShadowVersion());
    }
    return out.toString();
  }

  /** FNV-1a over UTF-8, finished with a 64-bit mix so nearby keys spread over the range. */
  /** Every version the policy needs loaded: its splits, then its shadow, each once. */
  static java.util.Set<Long> versions(TrafficPolicy policy) {
    java.util.Set<Long> versions = new java.util.LinkedHashSet<>();
    policy.getSplitsList().forEach(s -> versions.add(s.getVersion()));
    if (policy.getShadowVersion() != 0) {
      versions.add(policy.getShadowVersion());
    }
    return versions;
  }

  static long hash(String key) {
    long h = 0xcbf29ce484222325L;
    for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    return h;
  }
}
