package dev.streamscore.etl;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A feature view: per-entity aggregations of one source's events over tiled sliding windows. Its
 * tile rows go to {@code features.<name>}.
 *
 * @param name the view's name; lower-case letters, digits and {@code _}
 * @param source the source whose events it aggregates; the entity is that source's key
 * @param tileMs the tile size in milliseconds
 * @param allowedLatenessMs an event whose time is below the entity's greatest event time minus this
 *     is rejected as LATE for this view
 * @param ttlMs a {@code last} value older than this at read time is EXPIRED
 * @param features the features by name, in declaration order
 */
public record ViewSpec(
    String name,
    String source,
    long tileMs,
    long allowedLatenessMs,
    long ttlMs,
    Map<String, FeatureDef> features) {
  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]{0,63}");

  public ViewSpec {
    Objects.requireNonNull(source, "source");
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "view name '" + name + "' must start with a-z and hold only a-z, 0-9 and '_'");
    }
    if (tileMs <= 0) {
      throw new IllegalArgumentException("view '" + name + "': tile must be positive");
    }
    if (allowedLatenessMs < 0) {
      throw new IllegalArgumentException(
          "view '" + name + "': allowed_lateness must not be negative");
    }
    if (ttlMs <= 0) {
      throw new IllegalArgumentException("view '" + name + "': ttl must be positive");
    }
    features = Collections.unmodifiableMap(new LinkedHashMap<>(features));
    if (features.isEmpty()) {
      throw new IllegalArgumentException("view '" + name + "' declares no features");
    }
    for (FeatureDef f : features.values()) {
      if (f.windowMs() % tileMs != 0) {
        throw new IllegalArgumentException(
            "view '"
                + name
                + "' feature '"
                + f.name()
                + "': window "
                + Durations.format(f.windowMs())
                + " is not a multiple of the tile "
                + Durations.format(tileMs));
      }
    }
  }

  /** {@code features.<name>}. */
  public String topic() {
    return TopicNames.features(name);
  }

  /** The longest window of any feature: tiles older than this are never read. */
  public long longestWindowMs() {
    return features.values().stream().mapToLong(FeatureDef::windowMs).max().orElseThrow();
  }

  /** The input columns its tiles carry partials for, in first-use order. */
  public List<String> columns() {
    Set<String> columns = new LinkedHashSet<>();
    for (FeatureDef f : features.values()) {
      f.column().ifPresent(columns::add);
    }
    return List.copyOf(columns);
  }

  /** Whether the tiles keep an HLL sketch for this column. */
  public boolean sketches(String column) {
    return features.values().stream()
        .anyMatch(
            f ->
                f.aggregation() == Aggregation.APPROX_DISTINCT
                    && f.column().orElse("").equals(column));
  }

  /** The start of the tile holding this event time (floor, also for negative times). */
  public long tileStart(long eventTimeMs) {
    return Math.floorDiv(eventTimeMs, tileMs) * tileMs;
  }

  /**
   * A short hash of everything that decides the tile rows' content (source, its fields' cleansing,
   * tile size, columns, their transforms and sketches), so a reader can refuse rows from an
   * incompatible definition. Windows, TTL and lateness are not part of it: rows stay readable when
   * those change.
   */
  public String fingerprint(SourceSpec sourceSpec) {
    StringBuilder canonical = new StringBuilder();
    canonical.append("v1|").append(source).append('|').append(tileMs);
    for (String column : columns()) {
      canonical.append('|').append(column).append(sketches(column) ? ":hll" : "");
      canonical.append('=').append(sourceSpec.fields().get(column));
      sourceSpec.transform(column).ifPresent(t -> canonical.append(t));
    }
    canonical.append('|').append(sourceSpec.fields());
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256")
              .digest(canonical.toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
