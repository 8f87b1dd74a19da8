package dev.streamscore.scoring.monitor;

/**
 * One version's live quality in one window, beside the AUC it was registered with.
 *
 * @param referenceAuc the version's registered {@code auc} metric; NaN without one
 * @param threshold the score at or above which precision and recall count a positive prediction
 */
public record VersionQuality(
    String model,
    long version,
    String window,
    Quality quality,
    double referenceAuc,
    double threshold) {}
