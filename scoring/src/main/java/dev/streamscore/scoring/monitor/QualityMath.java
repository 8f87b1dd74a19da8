package dev.streamscore.scoring.monitor;

import java.util.Arrays;

/**
 * A version's live quality over joined (score, label) pairs: AUC, log loss, precision and recall at
 * a threshold, and calibration. Exact: AUC ranks every pair (ties share their mean rank), no
 * sketch, so the figures equal an offline computation over the same pairs.
 */
final class QualityMath {
  /**
   * Log loss clamps probabilities to [EPS, 1 - EPS]: a confident miss costs ~34.5, not infinity.
   */
  static final double EPS = 1e-15;

  /** Equal-width calibration bins over [0, 1]. */
  static final int CALIBRATION_BINS = 10;

  private QualityMath() {}

  /**
   * The quality of {@code n} pairs.
   *
   * @param threshold a score at or above it predicts the positive class
   */
  static Quality of(double[] scores, boolean[] labels, int n, double threshold) {
    long positives = 0;
    double logLoss = 0;
    long truePositives = 0;
    long predictedPositives = 0;
    long[] binCount = new long[CALIBRATION_BINS];
    double[] binPredicted = new double[CALIBRATION_BINS];
    long[] binPositives = new long[CALIBRATION_BINS];
    for (int i = 0; i < n; i++) {
      double p = Math.min(1 - EPS, Math.max(EPS, scores[i]));
      boolean y = labels[i];
      positives += y ? 1 : 0;
      logLoss -= y ? Math.log(p) : Math.log(1 - p);
      if (scores[i] >= threshold) {
        predictedPositives++;
        truePositives += y ? 1 : 0;
      }
      int bin = calibrationBin(scores[i]);
      binCount[bin]++;
      binPredicted[bin] += scores[i];
      binPositives[bin] += y ? 1 : 0;
    }
    double[] meanPredicted = new double[CALIBRATION_BINS];
    double[] observed = new double[CALIBRATION_BINS];
    double ece = 0;
    for (int b = 0; b < CALIBRATION_BINS; b++) {
      meanPredicted[b] = binCount[b] == 0 ? Double.NaN : binPredicted[b] / binCount[b];
      observed[b] = binCount[b] == 0 ? Double.NaN : (double) binPositives[b] / binCount[b];
      if (binCount[b] > 0) {
        ece += (double) binCount[b] / n * Math.abs(meanPredicted[b] - observed[b]);
      }
    }
    return new Quality(
        n,
        positives,
        auc(scores, labels, n, positives),
        n == 0 ? Double.NaN : logLoss / n,
        predictedPositives == 0 ? Double.NaN : (double) truePositives / predictedPositives,
        positives == 0 ? Double.NaN : (double) truePositives / positives,
        n == 0 ? Double.NaN : ece,
        binCount,
        meanPredicted,
        observed);
  }

  /** The calibration bin of a score: [0, 0.1), ..., [0.9, 1]; out-of-range and NaN at the ends. */
  static int calibrationBin(double score) {
    if (!(score > 0)) {
      return 0;
    }
    return Math.min(CALIBRATION_BINS - 1, (int) (score * CALIBRATION_BINS));
  }

  /** Mann–Whitney: the share of (positive, negative) pairs ranked right, ties counting half. */
  static double auc(double[] scores, boolean[] labels, int n, long positives) {
    long negatives = n - positives;
    if (positives == 0 || negatives == 0) {
      return Double.NaN;
    }
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Double.compare(scores[a], scores[b]));
    double positiveRanks = 0;
    int i = 0;
    while (i < n) {
      int j = i;
      while (j + 1 < n && Double.compare(scores[order[j + 1]], scores[order[i]]) == 0) {
        j++;
      }
      double rank = (i + j) / 2.0 + 1; // ranks are 1-based; a tie shares the mean
      for (int k = i; k <= j; k++) {
        if (labels[order[k]]) {
          positiveRanks += rank;
        }
      }
      i = j + 1;
    }
    return (positiveRanks - positives * (positives + 1) / 2.0) / ((double) positives * negatives);
  }
}
