package dev.streamscore.etl;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * An {@link EntityState} held in plain maps: for {@link Replay}, tests and engines without keyed
 * maps. {@link #toBytes()} and {@link #fromBytes} carry it whole through an engine's state store
 * (Spark's group state).
 */
public final class InMemoryEntityState implements EntityState {
  private long maxEventTime = Long.MIN_VALUE;
  private final Map<String, Long> seen = new HashMap<>();
  private final Map<Integer, TreeMap<Long, byte[]>> tiles = new HashMap<>();

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
    Long at = seen.get(eventId);
    return at == null ? Long.MIN_VALUE : at;
  }

  @Override
  public void markSeen(String eventId, long eventTimeMs) {
    seen.put(eventId, eventTimeMs);
  }

  @Override
  public void forgetSeenBefore(long eventTimeMs) {
    seen.values().removeIf(t -> t < eventTimeMs);
  }

  @Override
  public byte[] tile(int view, long tileStartMs) {
    TreeMap<Long, byte[]> viewTiles = tiles.get(view);
    return viewTiles == null ? null : viewTiles.get(tileStartMs);
  }

  @Override
  public void putTile(int view, long tileStartMs, byte[] row) {
    tiles.computeIfAbsent(view, v -> new TreeMap<>()).put(tileStartMs, row);
  }

  @Override
  public void removeTilesBefore(int view, long tileStartMs) {
    TreeMap<Long, byte[]> viewTiles = tiles.get(view);
    if (viewTiles != null) {
      viewTiles.headMap(tileStartMs).clear();
    }
  }

  /** The whole state in a compact, versioned binary form. */
  public byte[] toBytes() {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.io.DataOutputStream out = new java.io.DataOutputStream(bytes)) {
      out.writeByte(FORMAT);
      out.writeLong(maxEventTime);
      out.writeInt(seen.size());
      for (Map.Entry<String, Long> e : seen.entrySet()) {
        out.writeUTF(e.getKey());
        out.writeLong(e.getValue());
      }
      out.writeInt(tiles.size());
      for (Map.Entry<Integer, TreeMap<Long, byte[]>> view : tiles.entrySet()) {
        out.writeInt(view.getKey());
        out.writeInt(view.getValue().size());
        for (Map.Entry<Long, byte[]> tile : view.getValue().entrySet()) {
          out.writeLong(tile.getKey());
          out.writeInt(tile.getValue().length);
          out.write(tile.getValue());
        }
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e); // a byte array does not fail
    }
    return bytes.toByteArray();
  }

  /**
   * The state {@link #toBytes()} wrote.
   *
   * @throws IllegalArgumentException for bytes of another format or cut short
   */
  public static InMemoryEntityState fromBytes(byte[] bytes) {
    InMemoryEntityState state = new InMemoryEntityState();
    try (java.io.DataInputStream in =
        new java.io.DataInputStream(new java.io.ByteArrayInputStream(bytes))) {
      int format = in.readByte();
      if (format != FORMAT) {
        throw new IllegalArgumentException(
            "entity state of format " + format + "; this version reads format " + FORMAT);
      }
      state.maxEventTime = in.readLong();
      for (int n = in.readInt(), i = 0; i < n; i++) {
        state.seen.put(in.readUTF(), in.readLong());
      }
      for (int views = in.readInt(), v = 0; v < views; v++) {
        TreeMap<Long, byte[]> viewTiles = new TreeMap<>();
        int view = in.readInt();
        for (int n = in.readInt(), i = 0; i < n; i++) {
          long start = in.readLong();
          int length = in.readInt();
          if (length < 0 || length > in.available()) {
            throw new IllegalArgumentException("entity state bytes are cut short");
          }
          byte[] row = new byte[length];
          in.readFully(row);
          viewTiles.put(start, row);
        }
        state.tiles.put(view, viewTiles);
      }
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("entity state bytes are cut short", e);
    }
    return state;
  }

  private static final int FORMAT = 1;

  /** Event ids currently remembered for dedupe. */
  public int seenCount() {
    return seen.size();
  }

  /** Open tiles currently held, over all views. */
  public int openTiles() {
    return tiles.values().stream().mapToInt(Map::size).sum();
  }
}
