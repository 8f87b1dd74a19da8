package dev.streamscore.scoring.monitor;

import dev.streamscore.proto.v1.DistributionKind;

/**
 * One column's drift in one window: a model version's input or output against its reference.
 *
 * @param rows the window's live values
 * @param psi population stability index; NaN without live values
 * @param ks Kolmogorov–Smirnov distance on the bins, for NUMERIC columns; else NaN
 * @param js Jensen–Shannon divergence (base 2)
 * @param defaultedRatio the share of live values that were a missing feature's default
 * @param referenceDefaultedRatio the same share in the reference
 * @param points the bins' edges (NUMERIC) or values (CATEGORICAL, the last bin holding the rest)
 * @param reference the reference's counts per bin
 * @param live the window's counts per bin
 */
public record ColumnDrift(
    String model,
    long version,
    Role role,
    String name,
    String window,
    DistributionKind kind,
    long rows,
    double psi,
    double ks,
    double js,
    double defaultedRatio,
    double referenceDefaultedRatio,
    double[] points,
    long[] reference,
    long[] live) {}
