package dev.streamscore.etl;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An {@link EntityState} held in memory: for {@link Replay}, tests, and the engines, which carry it
 * whole through their state stores as {@link #toBytes()} (one value per entity).
 *
 * <p>It is made to be read, changed by a batch of events and written again cheaply: the seen ids
 * are queried where they lie in the bytes it was read from ({@link PackedSeenIds}), or kept
 * outside, in an engine's keyed map ({@link #fromBytes(byte[], SeenIdStore)}); a tile is decoded
 * once, on the batch's first event for it, and folded in place until the state is written.
 */
public final class InMemoryEntityState implements EntityState {
  private static final byte FORMAT = 2;
  private static final byte FORMAT_MAPS = 1;

  private long maxEventTime = Long.MIN_VALUE;
  private PackedSeenIds packed = PackedSeenIds.empty();

  /** Where the ids are: {@link #packed}, or the engine's store. */
  private SeenIdStore seen = packed;

  /** A new entity's state, its seen ids inside it. */
  public InMemoryEntityState() {}

  /** A new entity's state, its seen ids kept in {@code seenIds}. */
  public InMemoryEntityState(SeenIdStore seenIds) {
    this.seen = java.util.Objects.requireNonNull(seenIds, "seenIds");
  }

  /** Per view number, per tile start: the tile's state bytes, or the {@link Tiles} decoded. */
  private final Map<Integer, TreeMap<Long, Object>> tiles = new HashMap<>();

  @Override
  public long maxEventTime() {
    return maxEventTime;
  }

  @Override
  public void maxEventTime(long eventTimeMs) {
    maxEventTime = eventTimeMs;
  }

  @Override
  public long seenAt(String eventId) {
    return seen.seenAt(eventId);
  }

  @Override
  public void markSeen(String eventId, long eventTimeMs) {
    seen.markSeen(eventId, eventTimeMs);
  }

  @Override
  public void forgetSeenBefore(long eventTimeMs) {
    seen.forgetBefore(eventTimeMs);
  }

  /** Whether the seen ids are kept outside this state (and its bytes). */
  private boolean seenOutside() {
    return seen != packed;
  }

  @Override
  public byte[] tile(int view, long tileStartMs) {
    TreeMap<Long, Object> viewTiles = tiles.get(view);
    return viewTiles == null ? null : bytes(viewTiles.get(tileStartMs));
  }

  @Override
  public void putTile(int view, long tileStartMs, byte[] row) {
    tiles.computeIfAbsent(view, v -> new TreeMap<>()).put(tileStartMs, row);
  }

  /**
   * The open tile of {@code view} starting at {@code tileStartMs}, decoded, to be folded in place:
   * an empty one when there is none.
   */
  Tiles openTile(ViewPlan view, long tileStartMs) {
    TreeMap<Long, Object> viewTiles = tiles.computeIfAbsent(view.number(), v -> new TreeMap<>());
    Object held = viewTiles.get(tileStartMs);
    if (held instanceof Tiles decoded) {
      return decoded;
    }
    Tiles tile = held == null ? Tiles.empty(view) : Tiles.decode(view, (byte[]) held);
    viewTiles.put(tileStartMs, tile);
    return tile;
  }

  @Override
  public void removeTilesBefore(int view, long tileStartMs) {
    TreeMap<Long, Object> viewTiles = tiles.get(view);
    if (viewTiles != null) {
      viewTiles.headMap(tileStartMs).clear();
    }
  }

  private static byte[] bytes(Object held) {
    return held instanceof Tiles decoded ? decoded.encode() : (byte[]) held;
  }

  /**
   * The whole state in a compact, versioned binary form: {@code byte 2, long maxEventTime}, the
   * seen ids in {@link PackedSeenIds}' layout (none when they are kept outside), {@code int views},
   * and per view {@code int number, int tiles} and per tile {@code long start, int length, bytes}.
   */
  public byte[] toBytes() {
    PackedSeenIds ids = seenOutside() ? PackedSeenIds.empty() : packed;
    int size = 1 + 8 + ids.byteSize() + 4;
    List<byte[]> encoded = new ArrayList<>();
    for (TreeMap<Long, Object> viewTiles : tiles.values()) {
      size += 8;
      for (Object held : viewTiles.values()) {
        byte[] b = bytes(held);
        encoded.add(b);
        size += 12 + b.length;
      }
    }
    ByteBuffer out = ByteBuffer.allocate(size);
    out.put(FORMAT).putLong(maxEventTime);
    ids.writeTo(out);
    out.putInt(tiles.size());
    int next = 0;
    for (Map.Entry<Integer, TreeMap<Long, Object>> view : tiles.entrySet()) {
      out.putInt(view.getKey()).putInt(view.getValue().size());
      for (Long start : view.getValue().keySet()) {
        byte[] b = encoded.get(next++);
        out.putLong(start).putInt(b.length).put(b);
      }
    }
    return out.array();
  }

  /**
   * The state {@link #toBytes()} wrote, or an earlier version wrote.
   *
   * @throws IllegalArgumentException for bytes of another format or cut short
   */
  public static InMemoryEntityState fromBytes(byte[] bytes) {
    InMemoryEntityState state = new InMemoryEntityState();
    read(bytes, state);
    return state;
  }

  /**
   * {@link #fromBytes(byte[])} for a state whose seen ids are kept in {@code seenIds}; ids the
   * bytes hold (written while they were kept inside) are moved there.
   */
  public static InMemoryEntityState fromBytes(byte[] bytes, SeenIdStore seenIds) {
    InMemoryEntityState inside = fromBytes(bytes);
    InMemoryEntityState state = new InMemoryEntityState(seenIds);
    state.maxEventTime = inside.maxEventTime;
    state.tiles.putAll(inside.tiles);
    inside.packed.forEach(seenIds::markSeen);
    return state;
  }

  private static void read(byte[] bytes, InMemoryEntityState state) {
    if (bytes.length == 0) {
      throw new IllegalArgumentException("entity state bytes are cut short");
    }
    try {
      ByteBuffer in = ByteBuffer.wrap(bytes);
      byte format = in.get();
      if (format == FORMAT_MAPS) {
        readMaps(in, state);
        return;
      }
      if (format != FORMAT) {
        throw new IllegalArgumentException(
            "entity state of format " + format + "; this version reads formats 1 and " + FORMAT);
      }
      state.maxEventTime = in.getLong();
      state.packed = PackedSeenIds.wrap(bytes, in.position());
      state.seen = state.packed;
      in.position(state.packed.end());
      readTiles(in, state);
      if (in.hasRemaining()) {
        throw new IllegalArgumentException("entity state bytes go on past their end");
      }
    } catch (BufferUnderflowException e) {
      throw new IllegalArgumentException("entity state bytes are cut short", e);
    }
  }

  private static void readTiles(ByteBuffer in, InMemoryEntityState state) {
    for (int views = in.getInt(), v = 0; v < views; v++) {
      TreeMap<Long, Object> viewTiles = new TreeMap<>();
      int view = in.getInt();
      for (int n = in.getInt(), i = 0; i < n; i++) {
        long start = in.getLong();
        int length = in.getInt();
        if (length < 0 || length > in.remaining()) {
          throw new IllegalArgumentException("entity state bytes are cut short");
        }
        byte[] row = new byte[length];
        in.get(row);
        viewTiles.put(start, row);
      }
      state.tiles.put(view, viewTiles);
    }
  }

  /** Format 1: the seen ids as {@code int n} and n times {@code modified-UTF-8 id, long time}. */
  private static void readMaps(ByteBuffer in, InMemoryEntityState state) {
    state.maxEventTime = in.getLong();
    for (int n = in.getInt(), i = 0; i < n; i++) {
      int length = Short.toUnsignedInt(in.getShort());
      if (length > in.remaining()) {
        throw new IllegalArgumentException("entity state bytes are cut short");
      }
      String id;
      try {
        id =
            new java.io.DataInputStream(
                    new java.io.ByteArrayInputStream(in.array(), in.position() - 2, length + 2))
                .readUTF();
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException("entity state bytes hold an id that is not UTF-8", e);
      }
      in.position(in.position() + length);
      state.seen.markSeen(id, in.getLong());
    }
    readTiles(in, state);
  }

  /** Event ids currently remembered for dedupe inside this state (0 when kept outside). */
  public int seenCount() {
    return seenOutside() ? 0 : packed.size();
  }

  /** Open tiles currently held, over all views. */
  public int openTiles() {
    return tiles.values().stream().mapToInt(Map::size).sum();
  }
}
