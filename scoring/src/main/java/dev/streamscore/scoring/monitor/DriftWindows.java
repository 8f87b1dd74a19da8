package dev.streamscore.scoring.monitor;

import dev.streamscore.modelsync.Bins;
import dev.streamscore.proto.v1.Distribution;
import dev.streamscore.proto.v1.DistributionKind;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.ReferenceProfile;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One model version's live distributions: its predictions' inputs and scores counted in the bins of
 * its reference profile, per time bucket of their {@code predicted_at_ms}. A window's statistics
 * sum the buckets it covers, so they depend only on which predictions fall in it, never on the
 * order they were read in: a monitor that starts again and reads the log from the oldest bucket
 * gets the same figures. Thread-safe.
 */
final class DriftWindows {
  /** A column's reference: its bins and counts. */
  private record Column(String name, Role role, Bins bins, long[] reference, long defaulted) {}

  /** Counts of one bucket: per column and bin, and defaulted values per input. */
  private static final class Bucket {
    final long[][] counts;
    final long[] defaulted;

    Bucket(Column[] columns) {
      counts = new long[columns.length][];
      for (int i = 0; i < columns.length; i++) {
        counts[i] = new long[columns[i].bins().count()];
      }
      defaulted = new long[columns.length];
    }
  }

  private final String model;
  private final long version;
  private final Column[] columns;
  private final int inputs;
  private final MonitorConfig config;
  private final TreeMap<Long, Bucket> buckets = new TreeMap<>();

  DriftWindows(String model, long version, ReferenceProfile profile, MonitorConfig config) {
    this.model = model;
    this.version = version;
    this.config = config;
    this.inputs = profile.getInputsCount();
    List<Column> cols = new ArrayList<>();
    for (Distribution d : profile.getInputsList()) {
      cols.add(column(d, Role.INPUT));
    }
    for (Distribution d : profile.getOutputsList()) {
      cols.add(column(d, Role.OUTPUT));
    }
    this.columns = cols.toArray(new Column[0]);
  }

  private static Column column(Distribution d, Role role) {
    long[] reference = new long[d.getCountsCount()];
    for (int i = 0; i < reference.length; i++) {
      reference[i] = d.getCounts(i);
    }
    return new Column(d.getName(), role, Bins.of(d), reference, d.getDefaulted());
  }

  /** Whether a prediction was counted, and if not, why. */
  enum Counted {
    COUNTED,
    /** Its bucket is older than the longest window: already dropped. */
    LATE,
    /** Its time is further ahead of the monitor's clock than the longest window. */
    FUTURE
  }

  /**
   * Counts {@code p} as of {@code nowMs}: its scores always, its inputs when it carries its input
   * vector (a node logs it with {@code --grpc-input-log on}; stream scoring always does).
   */
  Counted observe(Prediction p, long nowMs) {
    PredictionReader r = new PredictionReader();
    if (!r.read(p.toByteArray())) {
      throw new IllegalArgumentException("not a prediction");
    }
    return observe(r, nowMs);
  }

  /** As {@link #observe(Prediction, long)}, from a reader holding the prediction's fields. */
  synchronized Counted observe(PredictionReader p, long nowMs) {
    long t = p.predictedAtMs;
    // Compared without subtracting from t: any long may arrive.
    if (t > nowMs + config.longest()) {
      return Counted.FUTURE;
    }
    evict(nowMs);
    if (t < oldestKept(nowMs)) {
      return Counted.LATE;
    }
    Bucket b = buckets.computeIfAbsent(config.bucketStart(t), k -> new Bucket(columns));
    if (p.featureCount == inputs) {
      for (int i = 0; i < inputs; i++) {
        b.counts[i][columns[i].bins().bin(p.features[i])]++;
      }
      for (int k = 0; k < p.defaultedCount; k++) {
        int i = p.defaulted[k];
        if (i >= 0 && i < inputs) {
          b.defaulted[i]++;
        }
      }
    }
    int outputs = columns.length - inputs;
    for (int j = 0; j < outputs && j < p.scoreCount; j++) {
      b.counts[inputs + j][columns[inputs + j].bins().bin(p.scores[j])]++;
    }
    return Counted.COUNTED;
  }

  /** The first bucket the longest window covers at {@code nowMs}. */
  private long oldestKept(long nowMs) {
    return config.bucketStart(nowMs) - config.longest() + config.bucketMs();
  }

  private void evict(long nowMs) {
    long oldest = oldestKept(nowMs);
    buckets.headMap(oldest, false).clear();
  }

  /** Whether nothing is kept any more (the version has had no predictions for a longest window). */
  synchronized boolean idle(long nowMs) {
    evict(nowMs);
    return buckets.isEmpty();
  }

  /** Every column's drift in every window, as of {@code nowMs}. */
  synchronized List<ColumnDrift> drift(long nowMs) {
    evict(nowMs);
    List<ColumnDrift> out = new ArrayList<>();
    long end = config.bucketStart(nowMs);
    for (MonitorConfig.Window w : config.windows()) {
      long[][] live = new long[columns.length][];
      long[] defaulted = new long[columns.length];
      for (int i = 0; i < columns.length; i++) {
        live[i] = new long[columns[i].bins().count()];
      }
      Map<Long, Bucket> covered = buckets.subMap(end - w.length().toMillis(), false, end, true);
      for (Bucket b : covered.values()) {
        for (int i = 0; i < columns.length; i++) {
          for (int k = 0; k < live[i].length; k++) {
            live[i][k] += b.counts[i][k];
          }
          defaulted[i] += b.defaulted[i];
        }
      }
      for (int i = 0; i < columns.length; i++) {
        Column c = columns[i];
        long rows = DriftMath.total(live[i]);
        long refRows = DriftMath.total(c.reference());
        out.add(
            new ColumnDrift(
                model,
                version,
                c.role(),
                c.name(),
                w.label(),
                c.bins().numeric()
                    ? DistributionKind.DISTRIBUTION_KIND_NUMERIC
                    : DistributionKind.DISTRIBUTION_KIND_CATEGORICAL,
                rows,
                DriftMath.psi(c.reference(), live[i]),
                c.bins().numeric() ? DriftMath.ks(c.reference(), live[i]) : Double.NaN,
                DriftMath.js(c.reference(), live[i]),
                rows == 0 ? Double.NaN : (double) defaulted[i] / rows,
                refRows == 0 ? Double.NaN : (double) c.defaulted() / refRows,
                c.bins().points(),
                c.reference().clone(),
                live[i]));
      }
    }
    return out;
  }

  /** Buckets kept, oldest first: for tests. */
  synchronized List<Long> bucketStarts() {
    List<Long> out = new ArrayList<>();
    for (Iterator<Long> it = buckets.keySet().iterator(); it.hasNext(); ) {
      out.add(it.next());
    }
    return out;
  }
}
