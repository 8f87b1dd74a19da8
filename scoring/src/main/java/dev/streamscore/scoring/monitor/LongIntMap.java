package dev.streamscore.scoring.monitor;

import java.util.Arrays;

/**
 * An open-addressing map from long keys to int values (linear probing, backward-shift deletion):
 * the label join's index by id hash, with no object per entry. Not thread-safe.
 */
final class LongIntMap {
  static final int ABSENT = -1;

  private long[] keys;
  private int[] values;
  private boolean[] used;
  private int size;

  LongIntMap(int capacity) {
    int n = Integer.highestOneBit(Math.max(16, capacity * 2 - 1)) << 1;
    keys = new long[n];
    values = new int[n];
    used = new boolean[n];
  }

  int size() {
    return size;
  }

  private int slot(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    return (int) (h >>> 32) & (keys.length - 1);
  }

  int get(long key) {
    for (int i = slot(key); used[i]; i = (i + 1) & (keys.length - 1)) {
      if (keys[i] == key) {
        return values[i];
      }
    }
    return ABSENT;
  }

  void put(long key, int value) {
    if ((size + 1) * 2 > keys.length) {
      grow();
    }
    int i = slot(key);
    while (used[i]) {
      if (keys[i] == key) {
        values[i] = value;
        return;
      }
      i = (i + 1) & (keys.length - 1);
    }
    used[i] = true;
    keys[i] = key;
    values[i] = value;
    size++;
  }

  void remove(long key) {
    int mask = keys.length - 1;
    int i = slot(key);
    while (used[i] && keys[i] != key) {
      i = (i + 1) & mask;
    }
    if (!used[i]) {
      return;
    }
    // Backward shift: move later entries of the cluster up so that no probe chain breaks.
    int gap = i;
    for (int j = (i + 1) & mask; used[j]; j = (j + 1) & mask) {
      int home = slot(keys[j]);
      boolean movable = gap <= j ? (home <= gap || home > j) : (home <= gap && home > j);
      if (movable) {
        keys[gap] = keys[j];
        values[gap] = values[j];
        gap = j;
      }
    }
    used[gap] = false;
    size--;
  }

  private void grow() {
    long[] oldKeys = keys;
    int[] oldValues = values;
    boolean[] oldUsed = used;
    keys = new long[oldKeys.length * 2];
    values = new int[oldKeys.length * 2];
    used = new boolean[oldKeys.length * 2];
    size = 0;
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldUsed[i]) {
        put(oldKeys[i], oldValues[i]);
      }
    }
  }

  void clear() {
    Arrays.fill(used, false);
    size = 0;
  }
}
