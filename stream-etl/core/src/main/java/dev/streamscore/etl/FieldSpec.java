package dev.streamscore.etl;

import java.util.Objects;
import java.util.OptionalDouble;

/**
 * A declared field of a source.
 *
 * @param name the JSON property name
 * @param type its type
 * @param required whether a record without it (or with null) is rejected as MISSING_FIELD
 * @param min inclusive lower bound for double and long fields; empty for none
 * @param max inclusive upper bound for double and long fields; empty for none
 */
public record FieldSpec(
    String name, FieldType type, boolean required, OptionalDouble min, OptionalDouble max) {

  public FieldSpec {
    Objects.requireNonNull(type, "type");
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
  }

  /** An optional field without bounds. */
  public static FieldSpec optional(String name, FieldType type) {
    return new FieldSpec(name, type, false, OptionalDouble.empty(), OptionalDouble.empty());
  }

  /** A required field without bounds. */
  public static FieldSpec required(String name, FieldType type) {
    return new FieldSpec(name, type, true, OptionalDouble.empty(), OptionalDouble.empty());
  }
}
