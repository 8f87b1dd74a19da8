package dev.streamscore.etl;

/**
 * Where an engine read an event: its partition and offset in {@code events.<source>} and its log
 * append time. Written on the rows the event changes, so that a store knows how far each entity's
 * rows have got in the log.
 */
public record SourcePosition(int partition, long offset, long appendedMs) {
  /** An event not read from Kafka (the offline replay, tests): its rows carry no position. */
  public static final SourcePosition UNKNOWN = new SourcePosition(0, -1, 0);

  public SourcePosition {
    if (partition < 0 || offset < -1) {
      throw new IllegalArgumentException(
          "partition >= 0 and offset >= -1, got " + partition + " and " + offset);
    }
  }
}
