package dev.streamscore.etl;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Spec durations: a whole number and a unit, {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h},
 * {@code 7d}.
 */
final class Durations {
  private static final Pattern FORMAT = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)");

  private Durations() {}

  /** Milliseconds, or -1 when the text is not a duration. */
  static long parseMillis(String text) {
    Matcher m = FORMAT.matcher(text.trim());
    if (!m.matches()) {
      return -1;
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> n;
      case "s" -> n * 1_000L;
      case "m" -> n * 60_000L;
      case "h" -> n * 3_600_000L;
      default -> n * 86_400_000L;
    };
  }

  /** The shortest spelling of a duration in the spec's units. */
  static String format(long ms) {
    if (ms != 0 && ms % 86_400_000L == 0) {
      return ms / 86_400_000L + "d";
    }
    if (ms != 0 && ms % 3_600_000L == 0) {
      return ms / 3_600_000L + "h";
    }
    if (ms != 0 && ms % 60_000L == 0) {
      return ms / 60_000L + "m";
    }
    if (ms != 0 && ms % 1_000L == 0) {
      return ms / 1_000L + "s";
    }
    return ms + "ms";
  }
}
