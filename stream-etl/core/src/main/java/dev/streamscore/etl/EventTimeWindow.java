package dev.streamscore.etl;

import java.time.Instant;

/**
 * Which event times a source accepts, relative to a record's arrival: from {@code pastMs} before to
 * {@code futureMs} after, and never before 1970 or after 9999. Outside it a record is
 * TIME_OUT_OF_WINDOW: an event time in seconds instead of milliseconds, or in microseconds, is a
 * producer's bug, and such times would otherwise sit in the feature store's windows or be refused
 * by Kafka as record timestamps.
 *
 * @param pastMs how far before its arrival an event time may be; 0 or more
 * @param futureMs how far after its arrival an event time may be; 0 or more
 */
public record EventTimeWindow(long pastMs, long futureMs) {
  /** The earliest event time any source accepts: the Unix epoch. */
  public static final long MIN_TIME_MS = 0;

  /** The latest event time any source accepts: 9999-12-31T23:59:59.999Z. */
  public static final long MAX_TIME_MS = 253_402_300_799_999L;

  /** 30 days before arrival to 15 minutes after. */
  public static final EventTimeWindow DEFAULT =
      new EventTimeWindow(30L * 24 * 3_600_000, 15L * 60_000);

  public EventTimeWindow {
    if (pastMs < 0 || futureMs < 0) {
      throw new IllegalArgumentException(
          "event_time_window past and future must not be negative, got "
              + pastMs
              + " and "
              + futureMs);
    }
  }

  /** True when {@code eventTimeMs} is acceptable for a record that arrived at {@code arrivalMs}. */
  public boolean accepts(long eventTimeMs, long arrivalMs) {
    return eventTimeMs >= Math.max(MIN_TIME_MS, saturatedSubtract(arrivalMs, pastMs))
        && eventTimeMs <= Math.min(MAX_TIME_MS, saturatedAdd(arrivalMs, futureMs));
  }

  /** The sentence for a rejected event time, naming the field. */
  String problem(String field, long eventTimeMs, long arrivalMs) {
    if (eventTimeMs < MIN_TIME_MS || eventTimeMs > MAX_TIME_MS) {
      return "field '" + field + "' is " + eventTimeMs + " ms, outside the years 1970 to 9999";
    }
    String when = Instant.ofEpochMilli(eventTimeMs).toString();
    String arrival = Instant.ofEpochMilli(arrivalMs).toString();
    return eventTimeMs < arrivalMs
        ? "field '"
            + field
            + "' is "
            + when
            + ", more than "
            + Durations.format(pastMs)
            + " before the record arrived ("
            + arrival
            + ")"
        : "field '"
            + field
            + "' is "
            + when
            + ", more than "
            + Durations.format(futureMs)
            + " after the record arrived ("
            + arrival
            + ")";
  }

  private static long saturatedSubtract(long a, long b) {
    long r = a - b;
    return ((a ^ b) & (a ^ r)) < 0 ? Long.MIN_VALUE : r;
  }

  private static long saturatedAdd(long a, long b) {
    long r = a + b;
    return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
  }
}
