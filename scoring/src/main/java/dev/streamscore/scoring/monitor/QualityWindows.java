package dev.streamscore.scoring.monitor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;

/**
 * One version's labelled predictions, per time bucket of their {@code predicted_at_ms}: every
 * (score, label) pair is kept while a window can hold it (16 bytes each), so that AUC is exact.
 * Thread-safe.
 */
final class QualityWindows {
  private static final class Pairs {
    double[] scores = new double[64];
    boolean[] labels = new boolean[64];
    int n;

    void add(double score, boolean label) {
      if (n == scores.length) {
        scores = Arrays.copyOf(scores, n * 2);
        labels = Arrays.copyOf(labels, n * 2);
      }
      scores[n] = score;
      labels[n] = label;
      n++;
    }
  }

  private final String model;
  private final long version;
  private final double referenceAuc;
  private final MonitorConfig config;
  private final TreeMap<Long, Pairs> buckets = new TreeMap<>();

  QualityWindows(String model, long version, double referenceAuc, MonitorConfig config) {
    this.model = model;
    this.version = version;
    this.referenceAuc = referenceAuc;
    this.config = config;
  }

  /** Adds a joined pair; false when its bucket is older than the longest window. */
  synchronized boolean add(long predictedAtMs, double score, boolean label, long nowMs) {
    long oldest = config.bucketStart(nowMs) - config.longest() + config.bucketMs();
    buckets.headMap(oldest, false).clear();
    if (predictedAtMs < oldest || predictedAtMs > nowMs + config.longest()) {
      return false;
    }
    buckets.computeIfAbsent(config.bucketStart(predictedAtMs), k -> new Pairs()).add(score, label);
    return true;
  }

  /** The quality in every window as of {@code nowMs}. */
  synchronized List<VersionQuality> quality(long nowMs) {
    long end = config.bucketStart(nowMs);
    List<VersionQuality> out = new ArrayList<>();
    for (MonitorConfig.Window w : config.windows()) {
      int n = 0;
      var covered = buckets.subMap(end - w.length().toMillis(), false, end, true).values();
      for (Pairs p : covered) {
        n += p.n;
      }
      double[] scores = new double[n];
      boolean[] labels = new boolean[n];
      int at = 0;
      for (Pairs p : covered) {
        System.arraycopy(p.scores, 0, scores, at, p.n);
        System.arraycopy(p.labels, 0, labels, at, p.n);
        at += p.n;
      }
      out.add(
          new VersionQuality(
              model,
              version,
              w.label(),
              QualityMath.of(scores, labels, n, config.threshold()),
              referenceAuc,
              config.threshold()));
    }
    return out;
  }

  /** Every pair a window holds as of {@code nowMs}, scores then labels: for offline checks. */
  synchronized List<double[]> pairs(String window, long nowMs) {
    long end = config.bucketStart(nowMs);
    long length =
        config.windows().stream()
            .filter(w -> w.label().equals(window))
            .findFirst()
            .orElseThrow(() -> new IllegalArgumentException("no window " + window))
            .length()
            .toMillis();
    List<double[]> out = new ArrayList<>();
    for (Pairs p : buckets.subMap(end - length, false, end, true).values()) {
      for (int i = 0; i < p.n; i++) {
        out.add(new double[] {p.scores[i], p.labels[i] ? 1 : 0});
      }
    }
    return out;
  }
}
