package dev.streamscore.etl;

import java.util.List;
import java.util.NavigableMap;

/**
 * One entity's state under the log-order rule ({@link LogOrderFeatures}), as an engine stores it:
 * the ETL's acceptance state and tiles ({@link EntityState}), plus closed tiles as far back as the
 * longest window reaches, each view's prefix partial, and the accepted events of the open tiles.
 * Kept as separate entries so that an event reads and writes only what it touches, whatever the
 * entity's history: {@link InMemoryTimeline} for training, a Kafka Streams store for stream
 * scoring.
 *
 * <p>Used by one thread at a time.
 */
public interface TimelineState extends EntityState {

  /**
   * Does nothing: closed tiles stay, later events' windows read them. {@link LogOrderFeatures}
   * prunes with {@link #dropTilesBefore} instead, later than the ETL does.
   */
  @Override
  default void removeTilesBefore(int view, long tileStartMs) {}

  /** The view's tiles starting in {@code [fromMs, toMs)}, by start. */
  NavigableMap<Long, byte[]> tiles(int view, long fromMs, long toMs);

  /** Forgets the view's tiles starting before {@code tileStartMs}. */
  void dropTilesBefore(int view, long tileStartMs);

  /**
   * The view's prefix partial: its tile holding the greatest event time, folded over that tile's
   * events before the greatest time; null when empty.
   */
  byte[] prefix(int view);

  /** Replaces the view's prefix partial; null empties it. */
  void prefix(int view, byte[] tile);

  /** Keeps an accepted event (its encoded columns and views) under its event time. */
  void addEvent(long eventTimeMs, byte[] event);

  /** Kept events with time in {@code [fromMs, toMs)}, by time, then in the order added. */
  List<byte[]> events(long fromMs, long toMs);

  /** Forgets kept events with time before {@code eventTimeMs}. */
  void dropEventsBefore(long eventTimeMs);
}
