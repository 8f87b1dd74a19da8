package dev.streamscore.etl;

/**
 * Where an entity's seen event ids are kept: inside its {@link InMemoryEntityState} bytes by
 * default, or in an engine's own keyed map, which reads and writes one id at a time. A busy entity
 * remembers every id of the dedupe horizon; an engine that writes its state value after every batch
 * would otherwise write all of them each time, and its store would spend its time compacting them.
 *
 * <p>Used by one thread at a time, for one entity.
 */
public interface SeenIdStore {

  /** The event time at which {@code eventId} was accepted, or {@link Long#MIN_VALUE}. */
  long seenAt(String eventId);

  /** Records that {@code eventId} was accepted at this event time. */
  void markSeen(String eventId, long eventTimeMs);

  /** Forgets every id accepted at an event time below {@code eventTimeMs}. */
  void forgetBefore(long eventTimeMs);
}
