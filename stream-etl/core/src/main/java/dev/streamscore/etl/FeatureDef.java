package dev.streamscore.etl;

import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One feature of a view: an aggregation of a column over a window ending at the read time.
 *
 * @param name the feature's name within its view; served as {@code view:name}
 * @param aggregation what is computed
 * @param column the input column (a payload field or a transform output); empty only for {@code
 *     count}, which then counts events
 * @param windowMs the window length in milliseconds, a positive multiple of the view's tile size
 */
public record FeatureDef(
    String name, Aggregation aggregation, Optional<String> column, long windowMs) {
  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]{0,63}");

  public FeatureDef {
    Objects.requireNonNull(aggregation, "aggregation");
    Objects.requireNonNull(column, "column");
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "feature name '" + name + "' must start with a-z and hold only a-z, 0-9 and '_'");
    }
    if (column.isEmpty() && aggregation != Aggregation.COUNT) {
      throw new IllegalArgumentException(
          "feature '" + name + "': " + aggregation.specName() + " needs a 'column'");
    }
    if (windowMs <= 0) {
      throw new IllegalArgumentException(
          "feature '" + name + "': window must be positive, got " + windowMs + " ms");
    }
  }
}
