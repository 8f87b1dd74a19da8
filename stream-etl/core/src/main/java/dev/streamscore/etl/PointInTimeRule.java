package dev.streamscore.etl;

import java.util.Locale;

/**
 * Which events a point-in-time training row of an event counts.
 *
 * <ul>
 *   <li>{@link #LOG_ORDER} (the default): the events of its entity before it in the log, as stream
 *       scoring served them ({@link LogOrderFeatures}). Training and serving agree bit for bit.
 *   <li>{@link #EVENT_TIME}: every event of its entity in the whole log with an earlier event time
 *       ({@link Replay#valuesAt}), including events that arrived after it. Nothing online can serve
 *       that, so a model trained on it learns from data it will not see when scoring: for
 *       out-of-order streams, leakage from the future.
 * </ul>
 */
public enum PointInTimeRule {
  LOG_ORDER,
  EVENT_TIME;

  /** {@code log-order} or {@code event-time}. */
  public String option() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /**
   * The rule an option names.
   *
   * @throws IllegalArgumentException naming the rules there are
   */
  public static PointInTimeRule parse(String option) {
    for (PointInTimeRule r : values()) {
      if (r.option().equals(option)) {
        return r;
      }
    }
    throw new IllegalArgumentException(
        "no point-in-time rule '" + option + "' (log-order or event-time)");
  }
}
