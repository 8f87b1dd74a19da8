package dev.streamscore.scoring;

import dev.streamscore.etl.TimelineState;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableMap;
import java.util.TreeMap;
import org.apache.kafka.common.serialization.BytesSerializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * One entity's {@link TimelineState} in a Kafka Streams key-value store, an entry per item so an
 * event reads and writes only what it touches. Keys: {@code int length, entity id (UTF-8)}, then a
 * kind byte and its fields, big-endian with the sign bit flipped so that byte order is numeric
 * order:
 *
 * <ul>
 *   <li>{@code H}: the header (greatest event time, event sequence, each view's prefix partial);
 *   <li>{@code S event id}: when an event id was accepted (dedupe);
 *   <li>{@code T view start}: a tile;
 *   <li>{@code E time sequence}: a kept event.
 * </ul>
 *
 * The header is read when the timeline is opened and written by {@link #flush()}. Not thread-safe:
 * one per event, on the stream thread.
 */
final class StoreTimeline implements TimelineState {
  private static final BytesSerializer PREFIX = new BytesSerializer();

  private final KeyValueStore<Bytes, byte[]> store;
  private final byte[] entity;
  private long maxEventTime = Long.MIN_VALUE;
  private long sequence;
  private final byte[][] prefixes;
  private boolean dirty;

  StoreTimeline(KeyValueStore<Bytes, byte[]> store, String entityId, int views) {
    this.store = store;
    byte[] id = entityId.getBytes(StandardCharsets.UTF_8);
    this.entity = ByteBuffer.allocate(4 + id.length).putInt(id.length).put(id).array();
    this.prefixes = new byte[views][];
    byte[] header = store.get(key('H', 0).build());
    if (header != null) {
      ByteBuffer in = ByteBuffer.wrap(header);
      maxEventTime = in.getLong();
      sequence = in.getLong();
      for (int v = 0; v < views && in.hasRemaining(); v++) {
        int length = in.getInt();
        if (length >= 0) {
          prefixes[v] = new byte[length];
          in.get(prefixes[v]);
        }
      }
    }
  }

  /** Writes the header if the event changed it. */
  void flush() {
    if (!dirty) {
      return;
    }
    int size = 16;
    for (byte[] p : prefixes) {
      size += 4 + (p == null ? 0 : p.length);
    }
    ByteBuffer out = ByteBuffer.allocate(size).putLong(maxEventTime).putLong(sequence);
    for (byte[] p : prefixes) {
      if (p == null) {
        out.putInt(-1);
      } else {
        out.putInt(p.length).put(p);
      }
    }
    store.put(key('H', 0).build(), out.array());
    dirty = false;
  }

  /** A key of this entity: kind, then fields appended by the caller. */
  private final class Key {
    private final ByteBuffer buffer;

    Key(char kind, int extra) {
      buffer = ByteBuffer.allocate(entity.length + 1 + extra).put(entity).put((byte) kind);
    }

    Key ordered(long v) {
      buffer.putLong(v ^ Long.MIN_VALUE);
      return this;
    }

    Key put(byte[] bytes) {
      buffer.put(bytes);
      return this;
    }

    Key put(byte b) {
      buffer.put(b);
      return this;
    }

    Bytes build() {
      return Bytes.wrap(buffer.array());
    }
  }

  private Key key(char kind, int extra) {
    return new Key(kind, extra);
  }

  @Override
  public long maxEventTime() {
    return maxEventTime;
  }

  @Override
  public void maxEventTime(long eventTimeMs) {
    maxEventTime = eventTimeMs;
    dirty = true;
  }

  private Bytes seenKey(String eventId) {
    byte[] id = eventId.getBytes(StandardCharsets.UTF_8);
    return key('S', id.length).put(id).build();
  }

  @Override
  public long seenAt(String eventId) {
    byte[] at = store.get(seenKey(eventId));
    return at == null ? Long.MIN_VALUE : ByteBuffer.wrap(at).getLong();
  }

  @Override
  public void markSeen(String eventId, long eventTimeMs) {
    store.put(seenKey(eventId), ByteBuffer.allocate(8).putLong(eventTimeMs).array());
  }

  @Override
  public void forgetSeenBefore(long eventTimeMs) {
    List<Bytes> old = new ArrayList<>();
    try (KeyValueIterator<Bytes, byte[]> it = store.prefixScan(key('S', 0).build(), PREFIX)) {
      while (it.hasNext()) {
        KeyValue<Bytes, byte[]> e = it.next();
        if (ByteBuffer.wrap(e.value).getLong() < eventTimeMs) {
          old.add(e.key);
        }
      }
    }
    old.forEach(store::delete);
  }

  private Bytes tileKey(int view, long tileStartMs) {
    return key('T', 9).put((byte) view).ordered(tileStartMs).build();
  }

  @Override
  public byte[] tile(int view, long tileStartMs) {
    return store.get(tileKey(view, tileStartMs));
  }

  @Override
  public void putTile(int view, long tileStartMs, byte[] row) {
    store.put(tileKey(view, tileStartMs), row);
  }

  @Override
  public NavigableMap<Long, byte[]> tiles(int view, long fromMs, long toMs) {
    NavigableMap<Long, byte[]> out = new TreeMap<>();
    if (fromMs >= toMs) {
      return out;
    }
    try (KeyValueIterator<Bytes, byte[]> it =
        store.range(tileKey(view, fromMs), tileKey(view, toMs - 1))) {
      while (it.hasNext()) {
        KeyValue<Bytes, byte[]> e = it.next();
        out.put(startOf(e.key), e.value);
      }
    }
    return out;
  }

  /** The tile start of a tile key: its last eight bytes. */
  private static long startOf(Bytes key) {
    byte[] k = key.get();
    return ByteBuffer.wrap(k, k.length - 8, 8).getLong() ^ Long.MIN_VALUE;
  }

  @Override
  public void dropTilesBefore(int view, long tileStartMs) {
    if (tileStartMs == Long.MIN_VALUE) {
      return;
    }
    deleteRange(tileKey(view, Long.MIN_VALUE), tileKey(view, tileStartMs - 1));
  }

  @Override
  public byte[] prefix(int view) {
    return prefixes[view];
  }

  @Override
  public void prefix(int view, byte[] tile) {
    prefixes[view] = tile;
    dirty = true;
  }

  private Bytes eventKey(long timeMs, long seq) {
    return key('E', 16).ordered(timeMs).ordered(seq).build();
  }

  @Override
  public void addEvent(long eventTimeMs, byte[] event) {
    store.put(eventKey(eventTimeMs, sequence++), event);
    dirty = true;
  }

  @Override
  public List<byte[]> events(long fromMs, long toMs) {
    List<byte[]> out = new ArrayList<>();
    if (fromMs >= toMs) {
      return out;
    }
    try (KeyValueIterator<Bytes, byte[]> it =
        store.range(eventKey(fromMs, Long.MIN_VALUE), eventKey(toMs - 1, Long.MAX_VALUE))) {
      while (it.hasNext()) {
        out.add(it.next().value);
      }
    }
    return out;
  }

  @Override
  public void dropEventsBefore(long eventTimeMs) {
    if (eventTimeMs == Long.MIN_VALUE) {
      return;
    }
    deleteRange(
        eventKey(Long.MIN_VALUE, Long.MIN_VALUE), eventKey(eventTimeMs - 1, Long.MAX_VALUE));
  }

  private void deleteRange(Bytes from, Bytes to) {
    List<Bytes> old = new ArrayList<>();
    try (KeyValueIterator<Bytes, byte[]> it = store.range(from, to)) {
      while (it.hasNext()) {
        old.add(it.next().key);
      }
    }
    old.forEach(store::delete);
  }
}
