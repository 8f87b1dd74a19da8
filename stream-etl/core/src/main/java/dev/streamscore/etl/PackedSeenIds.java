package dev.streamscore.etl;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * The event ids one entity remembers for dedupe, queried where they lie in the entity's state
 * bytes. A busy entity remembers every id of the last dedupe horizon (a user of the shipped spec
 * with 50 payments a minute: 3,000 ids), and its state is read and written once per batch; turning
 * every id into a {@code String} in a map on each read cost more than the events themselves.
 *
 * <p>Layout: {@code int n}, then {@code n} entries of {@code long hash, long eventTimeMs, int
 * idEnd} in ascending hash order, then the ids' UTF-8 bytes in entry order (entry i's from entry
 * i-1's {@code idEnd} to its own). A lookup is a binary search on the hash and a comparison of the
 * whole id, so two ids with one hash are both kept and told apart. Ids marked since the bytes were
 * read are held in a small map, and merged in when the state is written.
 *
 * <p>Not thread-safe: an entity's state is used by one thread at a time.
 */
final class PackedSeenIds implements SeenIdStore {
  private static final VarHandle LONG =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle INT =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
  private static final int ENTRY = 8 + 8 + 4;
  private static final byte[] NONE = new byte[4];

  private final byte[] base;
  private final int entries;
  private final int n;
  private final int ids;
  private final int end;

  /** Ids marked since the bytes were read, with the event time they were marked at. */
  private Map<String, Long> added;

  /** Base entries a mark replaced (the same id accepted again past the horizon). */
  private BitSet replaced;

  /** Every id seen below this event time is forgotten. */
  private long forgetBelow = Long.MIN_VALUE;

  private PackedSeenIds(byte[] base, int offset, int n, int ids, int end) {
    this.base = base;
    this.entries = offset + 4;
    this.n = n;
    this.ids = ids;
    this.end = end;
  }

  /** No id seen. */
  static PackedSeenIds empty() {
    return new PackedSeenIds(NONE, 0, 0, 4, 4);
  }

  /**
   * The ids written at {@code offset} of {@code bytes}, read in place; {@link #end()} is where they
   * end.
   *
   * @throws IllegalArgumentException when the bytes are cut short or inconsistent
   */
  static PackedSeenIds wrap(byte[] bytes, int offset) {
    if (offset < 0 || bytes.length - offset < 4) {
      throw new IllegalArgumentException("entity state bytes are cut short");
    }
    int n = (int) INT.get(bytes, offset);
    long idsAt = offset + 4 + (long) n * ENTRY;
    if (n < 0 || idsAt > bytes.length) {
      throw new IllegalArgumentException("entity state bytes are cut short");
    }
    int previous = 0;
    for (int i = 0; i < n; i++) {
      int idEnd = (int) INT.get(bytes, offset + 4 + i * ENTRY + 16);
      if (idEnd < previous) {
        throw new IllegalArgumentException("entity state bytes are inconsistent: seen ids");
      }
      previous = idEnd;
    }
    if (idsAt + previous > bytes.length) {
      throw new IllegalArgumentException("entity state bytes are cut short");
    }
    return new PackedSeenIds(bytes, offset, n, (int) idsAt, (int) idsAt + previous);
  }

  /** Where the bytes read by {@link #wrap} end. */
  int end() {
    return end;
  }

  @Override
  public long seenAt(String id) {
    if (added != null) {
      Long t = added.get(id);
      if (t != null) {
        return t >= forgetBelow ? t : Long.MIN_VALUE;
      }
    }
    int i = find(id);
    if (i < 0) {
      return Long.MIN_VALUE;
    }
    long t = time(i);
    return t >= forgetBelow ? t : Long.MIN_VALUE;
  }

  @Override
  public void markSeen(String id, long eventTimeMs) {
    if (added == null) {
      added = new HashMap<>();
    }
    if (added.put(id, eventTimeMs) == null) {
      int i = find(id);
      if (i >= 0) {
        if (replaced == null) {
          replaced = new BitSet(n);
        }
        replaced.set(i);
      }
    }
  }

  @Override
  public void forgetBefore(long eventTimeMs) {
    forgetBelow = Math.max(forgetBelow, eventTimeMs);
    if (added != null) {
      added.values().removeIf(t -> t < eventTimeMs);
    }
  }

  /** Calls {@code each} with every id remembered now and its event time. */
  void forEach(java.util.function.ObjLongConsumer<String> each) {
    for (int i = 0; i < n; i++) {
      if (kept(i)) {
        int from = idStart(i);
        each.accept(new String(base, from, idEnd(i) - from, StandardCharsets.UTF_8), time(i));
      }
    }
    if (added != null) {
      added.forEach((id, t) -> each.accept(id, t));
    }
  }

  /** Ids remembered now. */
  int size() {
    int size = added == null ? 0 : added.size();
    for (int i = 0; i < n; i++) {
      if (kept(i)) {
        size++;
      }
    }
    return size;
  }

  /** Bytes {@link #writeTo} writes. */
  int byteSize() {
    if (added == null && forgetBelow == Long.MIN_VALUE) {
      return end - entries + 4;
    }
    long size = 4;
    for (int i = 0; i < n; i++) {
      if (kept(i)) {
        size += ENTRY + idEnd(i) - idStart(i);
      }
    }
    if (added != null) {
      for (String id : added.keySet()) {
        size += ENTRY + utf8Length(id);
      }
    }
    if (size > Integer.MAX_VALUE - 64) {
      throw new IllegalStateException("an entity remembers more event ids than one state holds");
    }
    return (int) size;
  }

  /** Writes the ids remembered now, in the layout {@link #wrap} reads. */
  void writeTo(ByteBuffer out) {
    if (added == null && forgetBelow == Long.MIN_VALUE) {
      out.put(base, entries - 4, end - entries + 4);
      return;
    }
    int addedCount = added == null ? 0 : added.size();
    long[] addedHash = new long[addedCount];
    long[] addedTime = new long[addedCount];
    byte[][] addedId = new byte[addedCount][];
    if (addedCount > 0) {
      Integer[] order = new Integer[addedCount];
      byte[][] bytes = new byte[addedCount][];
      long[] hashes = new long[addedCount];
      long[] times = new long[addedCount];
      int k = 0;
      for (Map.Entry<String, Long> e : added.entrySet()) {
        bytes[k] = e.getKey().getBytes(StandardCharsets.UTF_8);
        hashes[k] = hash(bytes[k]);
        times[k] = e.getValue();
        order[k] = k;
        k++;
      }
      Arrays.sort(order, (a, b) -> Long.compare(hashes[a], hashes[b]));
      for (int j = 0; j < addedCount; j++) {
        addedHash[j] = hashes[order[j]];
        addedTime[j] = times[order[j]];
        addedId[j] = bytes[order[j]];
      }
    }
    int kept = 0;
    for (int i = 0; i < n; i++) {
      if (kept(i)) {
        kept++;
      }
    }
    int count = kept + addedCount;
    int start = out.position();
    out.putInt(count);
    int entryAt = out.position();
    int idAt = entryAt + count * ENTRY;
    int idEnd = 0;
    int i = 0;
    int j = 0;
    while (i < n || j < addedCount) {
      if (i < n && !kept(i)) {
        i++;
        continue;
      }
      boolean fromBase = j == addedCount || (i < n && hash(i) <= addedHash[j]);
      long hash;
      long time;
      if (fromBase) {
        hash = hash(i);
        time = time(i);
        int from = idStart(i);
        int length = idEnd(i) - from;
        out.put(idAt + idEnd, base, from, length);
        idEnd += length;
        i++;
      } else {
        hash = addedHash[j];
        time = addedTime[j];
        out.put(idAt + idEnd, addedId[j]);
        idEnd += addedId[j].length;
        j++;
      }
      out.putLong(entryAt, hash).putLong(entryAt + 8, time).putInt(entryAt + 16, idEnd);
      entryAt += ENTRY;
    }
    out.position(start + 4 + count * ENTRY + idEnd);
  }

  private boolean kept(int i) {
    return (replaced == null || !replaced.get(i)) && time(i) >= forgetBelow;
  }

  /** The base entry holding {@code id}, or -1. */
  private int find(String id) {
    if (n == 0) {
      return -1;
    }
    byte[] utf8 = id.getBytes(StandardCharsets.UTF_8);
    long h = hash(utf8);
    int low = 0;
    int high = n;
    while (low < high) {
      int mid = (low + high) >>> 1;
      if (hash(mid) < h) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    for (int i = low; i < n && hash(i) == h; i++) {
      int from = idStart(i);
      if (Arrays.equals(base, from, idEnd(i), utf8, 0, utf8.length)) {
        return i;
      }
    }
    return -1;
  }

  private long hash(int i) {
    return (long) LONG.get(base, entries + i * ENTRY);
  }

  private long time(int i) {
    return (long) LONG.get(base, entries + i * ENTRY + 8);
  }

  private int idEnd(int i) {
    return ids + (int) INT.get(base, entries + i * ENTRY + 16);
  }

  private int idStart(int i) {
    return i == 0 ? ids : idEnd(i - 1);
  }

  /** FNV-1a over the bytes, then MurmurHash3's finalizer to spread it. */
  static long hash(byte[] utf8) {
    long h = 0xcbf29ce484222325L;
    for (byte b : utf8) {
      h = (h ^ (b & 0xff)) * 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    return h ^ (h >>> 33);
  }

  private static int utf8Length(String s) {
    int length = s.length();
    int bytes = length;
    for (int i = 0; i < length; i++) {
      char c = s.charAt(i);
      if (c >= 0x80) {
        if (c < 0x800) {
          bytes++;
        } else if (Character.isHighSurrogate(c)
            && i + 1 < length
            && Character.isLowSurrogate(s.charAt(i + 1))) {
          bytes += 2; // four bytes for the pair's two chars
          i++;
        } else {
          bytes += 2; // lone surrogates are written as '?' by getBytes: one byte
          if (Character.isSurrogate(c)) {
            bytes -= 2;
          }
        }
      }
    }
    return bytes;
  }
}
