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
    double[] binObserved) {}
