package dev.streamscore.etl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A feature-definition spec: the single source of truth every engine and the validator read. So far
 * it declares sources; cleansing, transforms and feature views join it with the feature-definition
 * issue.
 *
 * <p>Format (YAML):
 *
 * <pre>{@code
 * version: 1
 * sources:
 *   payments:
 *     key: user_id            # entity id field: required string or long
 *     event_id: txn_id        # optional; else derived from topic-partition-offset
 *     event_time: ts          # required timestamp field
 *     fields:
 *       user_id: {type: string, required: true}
 *       txn_id:  {type: string, required: true}
 *       ts:      {type: timestamp, required: true}
 *       amount:  {type: double, required: true, min: 0, max: 1000000}
 *       country: {type: string}
 * }</pre>
 *
 * @param sources the declared sources by name, in declaration order
 */
public record FeatureSpec(Map<String, SourceSpec> sources) {

  public FeatureSpec {
    sources = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(sources));
  }

  /** The source with this name, if declared. */
  public Optional<SourceSpec> source(String name) {
    return Optional.ofNullable(sources.get(name));
  }

  /**
   * The spec shipped for the {@code streamscore produce} payments stream: one source, {@code
   * payments}, keyed by {@code user_id}.
   */
  public static FeatureSpec shippedPayments() {
    try (java.io.InputStream in = FeatureSpec.class.getResourceAsStream("payments.yaml")) {
      if (in == null) {
        throw new SpecException("payments.yaml: not found on the class path");
      }
      return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "built-in payments.yaml");
    } catch (IOException e) {
      throw new SpecException("built-in payments.yaml: cannot read: " + e.getMessage());
    }
  }

  /**
   * Reads and validates a spec file.
   *
   * @throws SpecException naming the file, line and problem
   */
  public static FeatureSpec load(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new SpecException(file + ": cannot read the spec: " + e.getMessage());
    }
    return parse(text, file.toString());
  }

  /**
   * Parses and validates spec text.
   *
   * @param origin how errors name the text, usually its file name
   * @throws SpecException naming the origin, line and problem
   */
  public static FeatureSpec parse(String text, String origin) {
    return new SpecParser(origin).parse(text);
  }
}
