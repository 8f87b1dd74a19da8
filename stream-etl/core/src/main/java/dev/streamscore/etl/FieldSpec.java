package dev.streamscore.etl;

import dev.streamscore.proto.v1.Value;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * A declared field of a source, with its cleansing policy.
 *
 * @param name the JSON property name
 * @param type its type
 * @param required whether a record without it (or with null) is rejected as MISSING_FIELD
 * @param min inclusive lower bound for double and long fields; empty for none
 * @param max inclusive upper bound for double and long fields; empty for none
 * @param ifNull what cleansing does with an event whose (optional) field is null
 * @param defaultValue the value used by {@link NullPolicy#DEFAULT}; present exactly then
 * @param ifOutOfRange what validation and cleansing do with a value outside [min, max]
 */
public record FieldSpec(
    String name,
    FieldType type,
    boolean required,
    OptionalDouble min,
    OptionalDouble max,
    NullPolicy ifNull,
    Optional<Value> defaultValue,
    RangePolicy ifOutOfRange) {

  /** What cleansing does with a null (absent) optional field. */
  public enum NullPolicy {
    /** Keep the null: aggregations skip it. */
    KEEP,
    /** Reject the event as MISSING_FIELD. */
    DROP,
    /** Replace the null with the declared default. */
    DEFAULT
  }

  /** What happens to a numeric value outside the declared bounds. */
  public enum RangePolicy {
    /** Reject the event as OUT_OF_RANGE (the validator already does, at ingest). */
    DROP,
    /** Replace the value by the nearest bound. */
    CLAMP
  }

  public FieldSpec {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(ifNull, "ifNull");
    Objects.requireNonNull(defaultValue, "defaultValue");
    Objects.requireNonNull(ifOutOfRange, "ifOutOfRange");
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("field name must not be blank");
    }
    boolean numeric = type == FieldType.DOUBLE || type == FieldType.LONG;
    if (!numeric && (min.isPresent() || max.isPresent())) {
      throw new IllegalArgumentException(
          "field '"
              + name
              + "' is "
              + type.specName()
              + "; only double and long fields take min/max");
    }
    if (min.isPresent() && max.isPresent() && min.getAsDouble() > max.getAsDouble()) {
      throw new IllegalArgumentException(
          "field '" + name + "' has min " + min.getAsDouble() + " above max " + max.getAsDouble());
    }
    if (required && ifNull != NullPolicy.KEEP) {
      throw new IllegalArgumentException(
          "field '" + name + "' is required, so it is never null; drop its if_null");
    }
    if ((ifNull == NullPolicy.DEFAULT) != defaultValue.isPresent()) {
      throw new IllegalArgumentException(
          "field '" + name + "': if_null: default and a 'default' value go together");
    }
    if (ifOutOfRange == RangePolicy.CLAMP && min.isEmpty() && max.isEmpty()) {
      throw new IllegalArgumentException(
          "field '" + name + "' clamps out-of-range values but declares no min or max");
    }
  }

  /** A field with the default policies: nulls kept, out-of-range values dropped. */
  public FieldSpec(
      String name, FieldType type, boolean required, OptionalDouble min, OptionalDouble max) {
    this(name, type, required, min, max, NullPolicy.KEEP, Optional.empty(), RangePolicy.DROP);
  }

  /** An optional field without bounds. */
  public static FieldSpec optional(String name, FieldType type) {
    return new FieldSpec(name, type, false, OptionalDouble.empty(), OptionalDouble.empty());
  }

  /** A required field without bounds. */
  public static FieldSpec required(String name, FieldType type) {
    return new FieldSpec(name, type, true, OptionalDouble.empty(), OptionalDouble.empty());
  }

  /** True when a numeric value lies outside [min, max]. */
  boolean outOfRange(double v) {
    return (min.isPresent() && v < min.getAsDouble()) || (max.isPresent() && v > max.getAsDouble());
  }
}
