package dev.streamscore.etl;

/**
 * One entity's processing state, as {@link FeatureProcessor} reads and writes it. Each engine backs
 * it with its own keyed state (Flink {@code MapState}s, Spark group state, a map in {@link
 * Replay}); the core decides every value and when anything may be forgotten, so the engines agree.
 *
 * <p>An instance is used by one thread at a time, for one entity.
 */
public interface EntityState {

  /** The greatest event time accepted past dedupe so far, or {@link Long#MIN_VALUE} when none. */
  long maxEventTime();

  /** Records a new greatest event time. */
  void maxEventTime(long eventTimeMs);

  /**
   * The event time at which this event id was last accepted past dedupe, or {@link Long#MIN_VALUE}
   * when it was never seen (or has been forgotten).
   */
  long seenAt(String eventId);

  /** Records that this event id was accepted past dedupe at this event time. */
  void markSeen(String eventId, long eventTimeMs);

  /** Forgets every event id seen at an event time below {@code eventTimeMs}. */
  void forgetSeenBefore(long eventTimeMs);

  /**
   * The serialized open tile ({@code FeatureRow} bytes) of view number {@code view} starting at
   * {@code tileStartMs}, or null when there is none.
   */
  byte[] tile(int view, long tileStartMs);

  /** Stores the serialized open tile. */
  void putTile(int view, long tileStartMs, byte[] row);

  /**
   * Removes the view's tiles starting below {@code tileStartMs}: no event can change them any more.
   */
  void removeTilesBefore(int view, long tileStartMs);
}
