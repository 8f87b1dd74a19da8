package dev.streamscore.modelsync;

import dev.streamscore.proto.v1.Distribution;
import dev.streamscore.proto.v1.DistributionKind;

/**
 * A distribution's bins, for counting live values where its reference values were counted.
 * Immutable and thread-safe.
 */
public final class Bins {
  private final boolean numeric;
  private final double[] points;

  private Bins(boolean numeric, double[] points) {
    this.numeric = numeric;
    this.points = points;
  }

  /** The bins of {@code d} (its kind and edges or values; its counts are not read). */
  public static Bins of(Distribution d) {
    boolean numeric = d.getKind() == DistributionKind.DISTRIBUTION_KIND_NUMERIC;
    double[] points = new double[numeric ? d.getEdgesCount() : d.getValuesCount()];
    for (int i = 0; i < points.length; i++) {
      points[i] = numeric ? d.getEdges(i) : d.getValues(i);
    }
    return new Bins(numeric, points);
  }

  /** How many bins there are. */
  public int count() {
    return points.length + 1;
  }

  /** The edges (NUMERIC) or the values (CATEGORICAL) the bins are made of. */
  public double[] points() {
    return points.clone();
  }

  /** Whether the bins are ranges (else one per listed value, then the rest). */
  public boolean numeric() {
    return numeric;
  }

  /**
   * The bin of {@code value}: for NUMERIC, the number of edges at or below it (NaN in the last
   * bin); for CATEGORICAL, the listed value's index, else the last bin.
   */
  public int bin(double value) {
    double v = normalized(value);
    if (Double.isNaN(v)) {
      return points.length;
    }
    int at = java.util.Arrays.binarySearch(points, v);
    if (numeric) {
      return at >= 0 ? at + 1 : -at - 1;
    }
    return at >= 0 ? at : points.length;
  }

  /** As the model sees it (a float), with -0.0 as 0.0: binary search orders -0.0 below 0.0. */
  static double normalized(double value) {
    return (double) (float) value + 0.0;
  }
}
