package dev.streamscore.scoring.monitor;

/**
 * Drift between a reference's and a window's counts over the same bins. None of these is a test:
 * with enough rows any difference is "significant", so alerts compare the size of the drift with a
 * threshold and ask for a minimum number of rows instead.
 */
final class DriftMath {
  /** Added to every bin's count for PSI, which is infinite when a bin is empty on one side. */
  static final double SMOOTHING = 0.5;

  private DriftMath() {}

  /**
   * The population stability index: the sum over bins of (live - ref) * ln(live / ref), of the
   * shares after adding {@link #SMOOTHING} to each bin. 0 for identical shares; 0.1 is a moderate
   * shift, 0.25 a large one. NaN when either side has no rows.
   */
  static double psi(long[] reference, long[] live) {
    long r = total(reference);
    long l = total(live);
    if (r == 0 || l == 0) {
      return Double.NaN;
    }
    double rDen = r + SMOOTHING * reference.length;
    double lDen = l + SMOOTHING * live.length;
    double psi = 0;
    for (int i = 0; i < reference.length; i++) {
      double p = (reference[i] + SMOOTHING) / rDen;
      double q = (live[i] + SMOOTHING) / lDen;
      psi += (q - p) * Math.log(q / p);
    }
    return psi;
  }

  /**
   * Kolmogorov–Smirnov distance on the bins: the largest gap between the two cumulative shares at a
   * bin edge, in [0, 1]. A lower bound of the exact statistic, whose sup may fall inside a bin.
   */
  static double ks(long[] reference, long[] live) {
    long r = total(reference);
    long l = total(live);
    if (r == 0 || l == 0) {
      return Double.NaN;
    }
    long rc = 0;
    long lc = 0;
    double max = 0;
    for (int i = 0; i < reference.length; i++) {
      rc += reference[i];
      lc += live[i];
      max = Math.max(max, Math.abs((double) rc / r - (double) lc / l));
    }
    return max;
  }

  /** Jensen–Shannon divergence of the shares, base 2, in [0, 1]; no smoothing is needed. */
  static double js(long[] reference, long[] live) {
    long r = total(reference);
    long l = total(live);
    if (r == 0 || l == 0) {
      return Double.NaN;
    }
    double js = 0;
    for (int i = 0; i < reference.length; i++) {
      double p = (double) reference[i] / r;
      double q = (double) live[i] / l;
      double m = (p + q) / 2;
      if (p > 0) {
        js += 0.5 * p * Math.log(p / m);
      }
      if (q > 0) {
        js += 0.5 * q * Math.log(q / m);
      }
    }
    return Math.max(0, Math.min(1, js / Math.log(2)));
  }

  static long total(long[] counts) {
    long t = 0;
    for (long c : counts) {
      t += c;
    }
    return t;
  }
}
