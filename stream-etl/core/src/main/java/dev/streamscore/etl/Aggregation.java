package dev.streamscore.etl;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/** A window aggregation, computed at read time from a merge of tile partials. */
public enum Aggregation {
  /**
   * Events in the window (no column), or events with a non-null column value; a long, 0 when none.
   */
  COUNT,
  /** Sum of a numeric column; a double, 0 when none. */
  SUM,
  /** Mean of a numeric column; a double, MISSING when none. */
  MEAN,
  /** Smallest value of a numeric column; a double, MISSING when none. */
  MIN,
  /** Greatest value of a numeric column; a double, MISSING when none. */
  MAX,
  /** Population standard deviation of a numeric column; a double, MISSING when none. */
  STDDEV,
  /**
   * The value with the greatest event time, in the column's type; MISSING when none, EXPIRED after
   * the view's TTL.
   */
  LAST,
  /** Approximate number of distinct values (HLL sketch); a long, 0 when none. */
  APPROX_DISTINCT;

  /** The spelling used in the spec: {@code count}, {@code approx_distinct}, ... */
  public String specName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Whether the aggregation needs a numeric input column. */
  public boolean numeric() {
    return this == SUM || this == MEAN || this == MIN || this == MAX || this == STDDEV;
  }

  static Optional<Aggregation> fromSpecName(String name) {
    return Arrays.stream(values()).filter(a -> a.specName().equals(name)).findFirst();
  }

  static String allSpecNames() {
    return Arrays.stream(values()).map(Aggregation::specName).collect(Collectors.joining(", "));
  }
}
