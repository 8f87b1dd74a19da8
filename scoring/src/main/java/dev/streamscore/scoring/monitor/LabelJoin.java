package dev.streamscore.scoring.monitor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Joins predictions with labels that arrive later (or earlier) by id. A prediction made at P and a
 * label observed at L join when |L - P| is at most the horizon, whatever order they are read in: a
 * monitor that reads the log again joins the same pairs. A prediction still unlabelled a grace
 * period after its horizon ends is counted as unlabelled and forgotten; so is a label.
 *
 * <p>Waiting predictions and labels live in rings of primitive arrays indexed by a 64-bit hash of
 * the id, 36 bytes a prediction and 17 a label, with no object per entry: a monitor holds hundreds
 * of thousands of them, and objects that survive until their label comes were what the garbage
 * collector spent its time copying. Not thread-safe: the monitor's thread owns it.
 */
final class LabelJoin {
  /** A prediction waiting for its label ({@code id} is empty when the join hands it back). */
  record Scored(String id, String model, long version, double score, long predictedAtMs) {}

  /** What the join produces. */
  interface Sink {
    void joined(Scored prediction, boolean label);

    void unlabelled(Scored prediction);
  }

  /** Labels read later than this after the horizon may miss predictions that had expired. */
  static final long GRACE_MS = 60_000;

  private static final int NONE = -1;

  private final long horizonMs;
  private final int capacity;
  private final Sink sink;

  // Waiting predictions: a ring, oldest read first; slots of the same id chained newest first.
  private final List<String> models = new ArrayList<>();
  private final List<Long> versions = new ArrayList<>();
  private final Map<String, Integer> versionRefs = new HashMap<>();
  private long[] pId = new long[1024];
  private int[] pVersion = new int[1024];
  private double[] pScore = new double[1024];
  private long[] pAt = new long[1024];
  private int[] pNext = new int[1024];
  private int pHead;
  private int pUsed;
  private int pending;
  private final LongIntMap byId;

  // Labels: a ring too; the first label of an id counts.
  private long[] lId = new long[1024];
  private long[] lAt = new long[1024];
  private boolean[] lPositive = new boolean[1024];
  private int lHead;
  private int lUsed;
  private final LongIntMap labelById;

  private long evicted;

  LabelJoin(long horizonMs, int capacity, Sink sink) {
    this.horizonMs = horizonMs;
    this.capacity = capacity;
    this.sink = sink;
    this.byId = new LongIntMap(1024);
    this.labelById = new LongIntMap(1024);
  }

  /** A 64-bit hash of an id: two ids of a million waiting collide with odds of about 1e-8. */
  static long hash(String id) {
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i < id.length(); i++) {
      h ^= id.charAt(i);
      h *= 0x100000001b3L;
    }
    return h ^ (h >>> 29);
  }

  void prediction(Scored p) {
    long id = hash(p.id());
    int label = labelById.get(id);
    if (label != NONE && Math.abs(lAt[label] - p.predictedAtMs()) <= horizonMs) {
      sink.joined(p, lPositive[label]);
      return;
    }
    if (pUsed == capacity && pending <= capacity / 4 * 3) {
      // A quarter or more of the ring is joined predictions: drop those rather than evict one
      // still waiting (each rebuild frees a quarter: at most four copies a prediction).
      rebuildPredictions(pId.length);
    }
    if (pUsed == capacity) {
      evictOldestPrediction(true);
    }
    if (pUsed == pId.length) {
      rebuildPredictions(Math.min(capacity, pId.length * 2));
    }
    int slot = (pHead + pUsed) % pId.length;
    pUsed++;
    pId[slot] = id;
    pVersion[slot] = versionRef(p.model(), p.version());
    pScore[slot] = p.score();
    pAt[slot] = p.predictedAtMs();
    int first = byId.get(id);
    pNext[slot] = first;
    byId.put(id, slot);
    pending++;
  }

  /** A label; the first for an id counts, later ones for the same id are ignored. */
  void label(String idText, boolean positive, long atMs) {
    long id = hash(idText);
    if (labelById.get(id) != NONE) {
      return;
    }
    if (lUsed == capacity) {
      dropOldestLabel();
    }
    if (lUsed == lId.length) {
      growLabels();
    }
    int slot = (lHead + lUsed) % lId.length;
    lUsed++;
    lId[slot] = id;
    lAt[slot] = atMs;
    lPositive[slot] = positive;
    labelById.put(id, slot);
    // Every waiting prediction of the id within the horizon joins; the others keep waiting.
    int prev = NONE;
    for (int s = byId.get(id); s != NONE; ) {
      int next = pNext[s];
      if (pVersion[s] != NONE && Math.abs(atMs - pAt[s]) <= horizonMs) {
        sink.joined(scored(s), positive);
        pVersion[s] = NONE; // dead: its ring slot is skipped when it reaches the head
        pending--;
        unlink(id, prev, next);
      } else {
        prev = s;
      }
      s = next;
    }
  }

  /** Forgets what is past its horizon and grace as of {@code nowMs}. */
  void expire(long nowMs) {
    long before = nowMs - horizonMs - GRACE_MS;
    while (pUsed > 0 && (pVersion[pHead] == NONE || pAt[pHead] < before)) {
      evictOldestPrediction(false);
    }
    while (lUsed > 0 && lAt[lHead] < before) {
      dropOldestLabel();
    }
  }

  /** Frees the ring's oldest slot; a prediction still waiting there is counted unlabelled. */
  private void evictOldestPrediction(boolean forced) {
    int s = pHead;
    pHead = (pHead + 1) % pId.length;
    pUsed--;
    if (pVersion[s] == NONE) {
      return; // joined earlier
    }
    Scored p = scored(s);
    pVersion[s] = NONE;
    pending--;
    // The oldest slot of its id is the last of the chain.
    int prev = NONE;
    int at = byId.get(pId[s]);
    while (at != NONE && at != s) {
      prev = at;
      at = pNext[at];
    }
    unlink(pId[s], prev, pNext[s]);
    if (forced) {
      evicted++;
    }
    sink.unlabelled(p);
  }

  private void unlink(long id, int prev, int next) {
    if (prev == NONE) {
      if (next == NONE) {
        byId.remove(id);
      } else {
        byId.put(id, next);
      }
    } else {
      pNext[prev] = next;
    }
  }

  private void dropOldestLabel() {
    int s = lHead;
    lHead = (lHead + 1) % lId.length;
    lUsed--;
    if (labelById.get(lId[s]) == s) {
      labelById.remove(lId[s]);
    }
  }

  private Scored scored(int slot) {
    int v = pVersion[slot];
    return new Scored("", models.get(v), versions.get(v), pScore[slot], pAt[slot]);
  }

  private int versionRef(String model, long version) {
    return versionRefs.computeIfAbsent(
        model + "@" + version,
        k -> {
          models.add(model);
          versions.add(version);
          return models.size() - 1;
        });
  }

  /** Copies the waiting predictions, oldest first, into rings of {@code n} slots. */
  private void rebuildPredictions(int n) {
    long[] id = new long[n];
    int[] version = new int[n];
    double[] score = new double[n];
    long[] at = new long[n];
    int[] next = new int[n];
    byId.clear();
    // The index rebuilt as it was made: each id's chain newest first.
    int kept = 0;
    for (int i = 0; i < pUsed; i++) {
      int from = (pHead + i) % pId.length;
      if (pVersion[from] == NONE) {
        continue; // joined: its slot is not copied
      }
      id[kept] = pId[from];
      version[kept] = pVersion[from];
      score[kept] = pScore[from];
      at[kept] = pAt[from];
      next[kept] = byId.get(id[kept]);
      byId.put(id[kept], kept);
      kept++;
    }
    pUsed = kept;
    pId = id;
    pVersion = version;
    pScore = score;
    pAt = at;
    pNext = next;
    pHead = 0;
  }

  private void growLabels() {
    int n = Math.min(capacity, lId.length * 2);
    long[] id = new long[n];
    long[] at = new long[n];
    boolean[] positive = new boolean[n];
    labelById.clear();
    for (int i = 0; i < lUsed; i++) {
      int from = (lHead + i) % lId.length;
      id[i] = lId[from];
      at[i] = lAt[from];
      positive[i] = lPositive[from];
      if (labelById.get(id[i]) == NONE) {
        labelById.put(id[i], i);
      }
    }
    lId = id;
    lAt = at;
    lPositive = positive;
    lHead = 0;
  }

  /** Predictions waiting for a label. */
  int pending() {
    return pending;
  }

  /** Predictions given up before their horizon because the most allowed were waiting. */
  long evicted() {
    return evicted;
  }
}
