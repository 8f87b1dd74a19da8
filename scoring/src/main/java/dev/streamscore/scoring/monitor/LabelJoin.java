package dev.streamscore.scoring.monitor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Joins predictions with labels that arrive later (or earlier) by id. A prediction made at P and a
 * label observed at L join when |L - P| is at most the horizon, whatever order they are read in: a
 * monitor that reads the log again joins the same pairs. A prediction still unlabelled a grace
 * period after its horizon ends is counted as unlabelled and forgotten; so is a label. Not
 * thread-safe: the monitor's thread owns it.
 */
final class LabelJoin {
  /** A prediction waiting for its label. */
  record Scored(String id, String model, long version, double score, long predictedAtMs) {}

  /** What the join produces. */
  interface Sink {
    void joined(Scored prediction, boolean label);

    void unlabelled(Scored prediction);
  }

  private record Observed(boolean positive, long atMs) {}

  private record Expiry(String id, long atMs) {}

  /** Labels read later than this after the horizon may miss predictions that had expired. */
  static final long GRACE_MS = 60_000;

  private final long horizonMs;
  private final int maxPending;
  private final Sink sink;
  private final Map<String, List<Scored>> waiting = new HashMap<>();
  private final Map<String, Observed> labels = new HashMap<>();
  private final ArrayDeque<Expiry> predictionExpiry = new ArrayDeque<>();
  private final ArrayDeque<Expiry> labelExpiry = new ArrayDeque<>();
  private int pending;
  private long evicted;

  LabelJoin(long horizonMs, int maxPending, Sink sink) {
    this.horizonMs = horizonMs;
    this.maxPending = maxPending;
    this.sink = sink;
  }

  void prediction(Scored p) {
    Observed label = labels.get(p.id());
    if (label != null && Math.abs(label.atMs() - p.predictedAtMs()) <= horizonMs) {
      sink.joined(p, label.positive());
      return;
    }
    waiting.computeIfAbsent(p.id(), k -> new ArrayList<>(1)).add(p);
    predictionExpiry.add(new Expiry(p.id(), p.predictedAtMs()));
    pending++;
    while (pending > maxPending) {
      expireOldestPrediction(true);
    }
  }

  /** A label; the first for an id counts, later ones for the same id are ignored. */
  void label(String id, boolean positive, long atMs) {
    if (labels.containsKey(id)) {
      return;
    }
    labels.put(id, new Observed(positive, atMs));
    labelExpiry.add(new Expiry(id, atMs));
    List<Scored> ps = waiting.get(id);
    if (ps == null) {
      return;
    }
    for (var it = ps.iterator(); it.hasNext(); ) {
      Scored p = it.next();
      if (Math.abs(atMs - p.predictedAtMs()) <= horizonMs) {
        sink.joined(p, positive);
        it.remove();
        pending--;
      }
    }
    if (ps.isEmpty()) {
      waiting.remove(id);
    }
  }

  /** Forgets what is past its horizon and grace as of {@code nowMs}. */
  void expire(long nowMs) {
    long before = nowMs - horizonMs - GRACE_MS;
    while (!predictionExpiry.isEmpty() && predictionExpiry.peekFirst().atMs() < before) {
      expireOldestPrediction(false);
    }
    while (!labelExpiry.isEmpty() && labelExpiry.peekFirst().atMs() < before) {
      labels.remove(labelExpiry.pollFirst().id());
    }
  }

  private void expireOldestPrediction(boolean forced) {
    Expiry e = predictionExpiry.pollFirst();
    List<Scored> ps = waiting.get(e.id());
    if (ps == null) {
      return; // joined since
    }
    for (var it = ps.iterator(); it.hasNext(); ) {
      Scored p = it.next();
      if (p.predictedAtMs() == e.atMs()) {
        it.remove();
        pending--;
        if (forced) {
          evicted++;
        }
        sink.unlabelled(p);
        break;
      }
    }
    if (ps.isEmpty()) {
      waiting.remove(e.id());
    }
  }

  /** Predictions waiting for a label. */
  int pending() {
    return pending;
  }

  /** Predictions given up before their horizon because more than the maximum were waiting. */
  long evicted() {
    return evicted;
  }
}
