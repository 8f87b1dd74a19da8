package dev.streamscore.etl;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/** The type of a declared event field, as written in the spec. */
public enum FieldType {
  /** A finite double; JSON numbers. */
  DOUBLE,
  /** A signed 64-bit integer; JSON integers (a number with a fraction is a wrong type). */
  LONG,
  /** A string; JSON strings. */
  STRING,
  /** A boolean; JSON true/false. */
  BOOL,
  /**
   * An instant, stored as epoch milliseconds; JSON integers (epoch milliseconds) or ISO-8601
   * strings with an offset ({@code 2026-11-24T10:00:00Z}).
   */
  TIMESTAMP;

  /** The spelling used in the spec: {@code double}, {@code long}, ... */
  public String specName() {
    return name().toLowerCase(Locale.ROOT);
  }

  static Optional<FieldType> fromSpecName(String name) {
    return Arrays.stream(values()).filter(t -> t.specName().equals(name)).findFirst();
  }

  static String allSpecNames() {
    return Arrays.stream(values()).map(FieldType::specName).collect(Collectors.joining(", "));
  }
}
