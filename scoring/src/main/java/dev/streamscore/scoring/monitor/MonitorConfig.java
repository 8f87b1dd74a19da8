package dev.streamscore.scoring.monitor;

import java.time.Duration;
import java.util.List;

/**
 * How the monitor windows its statistics.
 *
 * @param bucket the unit windows are made of; every window is a whole number of buckets
 * @param windows the windows, each ending at the current bucket
 * @param minRows the rows a window needs before its drift is worth an alert (published with the
 *     statistics so that alert rules can require it)
 */
public record MonitorConfig(Duration bucket, List<Window> windows, long minRows) {
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
  }

  /** One-minute buckets, windows of the last 5 minutes and the last hour, 1,000 rows minimum. */
  public static MonitorConfig defaults() {
    return new MonitorConfig(
        Duration.ofMinutes(1),
        List.of(new Window("5m", Duration.ofMinutes(5)), new Window("1h", Duration.ofHours(1))),
        1_000);
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
