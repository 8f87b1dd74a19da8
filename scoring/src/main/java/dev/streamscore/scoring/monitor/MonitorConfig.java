package dev.streamscore.scoring.monitor;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * How the monitor windows its statistics and joins labels.
 *
 * @param bucket the unit windows are made of; every window is a whole number of buckets
 * @param windows the windows, each ending at the current bucket
 * @param minRows the rows a window needs before its drift is worth an alert (published with the
 *     statistics so that alert rules can require it)
 * @param horizon a label joins a prediction of the same id observed at most this long before or
 *     after it; predictions still unlabelled after it are counted as unlabelled
 * @param threshold the score at or above which precision and recall count a positive prediction
 * @param labelFields per source, an event field that is the label of the event's own prediction
 *     (for stream scoring, joined by event id), besides the {@code labels.<source>} topics
 */
public record MonitorConfig(
    Duration bucket,
    List<Window> windows,
    long minRows,
    Duration horizon,
    double threshold,
    Map<String, String> labelFields) {
  /** A window: its label in metrics ({@code 5m}) and its length. */
  public record Window(String label, Duration length) {
    public Window {
      if (label == null || !label.matches("[0-9a-z]{1,16}")) {
        throw new IllegalArgumentException("a window label is 1 to 16 digits or letters");
      }
      if (length == null || length.isNegative() || length.isZero()) {
        throw new IllegalArgumentException("window " + label + " must be longer than 0");
      }
    }
  }

  /** Predictions waiting for a label at most; beyond it the oldest is given up. */
  static final int MAX_PENDING = 500_000;

  public MonitorConfig {
    if (bucket == null || bucket.toMillis() < 1) {
      throw new IllegalArgumentException("the bucket must be at least 1 ms");
    }
    windows = List.copyOf(windows);
    if (windows.isEmpty()) {
      throw new IllegalArgumentException("at least one window");
    }
    for (Window w : windows) {
      if (w.length().toMillis() % bucket.toMillis() != 0) {
        throw new IllegalArgumentException(
            "window " + w.label() + " is not a whole number of " + bucket + " buckets");
      }
    }
    if (minRows < 1) {
      throw new IllegalArgumentException("minRows must be at least 1");
    }
    if (horizon == null || horizon.isNegative()) {
      throw new IllegalArgumentException("the label horizon must not be negative");
    }
    if (!(threshold >= 0 && threshold <= 1)) {
      throw new IllegalArgumentException("the threshold must be in [0, 1], got " + threshold);
    }
    labelFields = Map.copyOf(labelFields);
  }

  /** A one-hour label horizon, a 0.5 threshold and no label fields. */
  public MonitorConfig(Duration bucket, List<Window> windows, long minRows) {
    this(bucket, windows, minRows, Duration.ofHours(1), 0.5, Map.of());
  }

  /** One-minute buckets, windows of the last 5 minutes and the last hour, 1,000 rows minimum. */
  public static MonitorConfig defaults() {
    return new MonitorConfig(
        Duration.ofMinutes(1),
        List.of(new Window("5m", Duration.ofMinutes(5)), new Window("1h", Duration.ofHours(1))),
        1_000);
  }

  public MonitorConfig withLabels(Duration horizon, Map<String, String> labelFields) {
    return new MonitorConfig(bucket, windows, minRows, horizon, threshold, labelFields);
  }

  long bucketMs() {
    return bucket.toMillis();
  }

  long longest() {
    long max = 0;
    for (Window w : windows) {
      max = Math.max(max, w.length().toMillis());
    }
    return max;
  }

  long bucketStart(long ms) {
    return ms - Math.floorMod(ms, bucketMs());
  }
}
