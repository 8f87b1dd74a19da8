package dev.streamscore.scoring.monitor;

/**
 * A version's live quality over the labelled predictions of a window.
 *
 * @param labelled joined (prediction, label) pairs
 * @param positives of those, labelled positive
 * @param auc area under the ROC curve; NaN without both classes
 * @param logLoss mean negative log-likelihood; NaN without pairs
 * @param precision of predictions at or above the threshold, the share labelled positive
 * @param recall of positives, the share predicted at or above the threshold
 * @param calibrationError expected calibration error over {@link QualityMath#CALIBRATION_BINS}
 *     equal-width bins
 * @param binCount pairs per calibration bin
 * @param binPredicted mean score per bin (NaN when empty)
 * @param binObserved share labelled positive per bin (NaN when empty)
 */
public record Quality(
    long labelled,
    long positives,
    double auc,
    double logLoss,
    double precision,
    double recall,
    double calibrationError,
    long[] binCount,
    double[] binPredicted,
    double[] binObserved) {

  /**
   * The figures of {@code scores} against {@code labels}, computed as the live monitor computes
   * them: offline evaluation (training, held-out rows) and live quality are one computation.
   *
   * @param threshold the score at or above which a prediction counts as positive
   */
  public static Quality of(double[] scores, boolean[] labels, double threshold) {
    if (scores.length != labels.length) {
      throw new IllegalArgumentException(
          scores.length + " scores but " + labels.length + " labels");
    }
    return QualityMath.of(scores, labels, scores.length, threshold);
  }
}
