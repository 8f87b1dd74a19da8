package dev.streamscore.modelsync;

import dev.streamscore.proto.v1.Distribution;
import dev.streamscore.proto.v1.DistributionKind;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.ReferenceProfile;
import java.util.Arrays;
import java.util.List;

/**
 * Reference profiles: a column's distribution built from the values a version was trained on, and
 * the registry's check of a profile against its version's spec.
 *
 * <p>A column whose reference holds at most {@link #MAX_CATEGORIES} distinct finite values is
 * CATEGORICAL (one bin per value, one for the rest); any other is NUMERIC with {@link
 * #NUMERIC_BINS} bins between the reference's quantiles, so that each holds about as many reference
 * values. Values are counted as the model sees them: rounded to float.
 */
public final class Profiles {
  /** Bins of a numeric column (fewer when quantiles coincide). */
  public static final int NUMERIC_BINS = 20;

  /** The most distinct values a categorical column has. */
  public static final int MAX_CATEGORIES = 20;

  /** The most edges or values a registered distribution may list. */
  static final int MAX_EDGES = 255;

  private Profiles() {}

  /**
   * The distribution of {@code values}.
   *
   * @param defaulted which values were a missing or expired feature's default; null for none
   * @throws IllegalArgumentException without values, or with a flag array of another length
   */
  public static Distribution distribution(String name, double[] values, boolean[] defaulted) {
    if (values.length == 0) {
      throw new IllegalArgumentException("column '" + name + "' has no values");
    }
    if (defaulted != null && defaulted.length != values.length) {
      throw new IllegalArgumentException(
          "column '" + name + "': " + defaulted.length + " flags for " + values.length + " values");
    }
    double[] sorted = new double[values.length];
    for (int i = 0; i < values.length; i++) {
      sorted[i] = Bins.normalized(values[i]);
    }
    Arrays.sort(sorted);
    double[] distinct = distinctFinite(sorted, MAX_CATEGORIES + 1);
    Distribution.Builder d = Distribution.newBuilder().setName(name);
    if (distinct.length <= MAX_CATEGORIES) {
      d.setKind(DistributionKind.DISTRIBUTION_KIND_CATEGORICAL);
      for (double v : distinct) {
        d.addValues(v);
      }
    } else {
      d.setKind(DistributionKind.DISTRIBUTION_KIND_NUMERIC);
      double last = Double.NEGATIVE_INFINITY;
      for (int k = 1; k < NUMERIC_BINS; k++) {
        double q = sorted[(int) ((long) k * sorted.length / NUMERIC_BINS)];
        if (Double.isFinite(q) && q > last) {
          d.addEdges(q);
          last = q;
        }
      }
    }
    Bins bins = Bins.of(d.buildPartial());
    long[] counts = new long[bins.count()];
    double sum = 0;
    long finite = 0;
    for (double v : sorted) {
      counts[bins.bin(v)]++;
      if (Double.isFinite(v)) {
        sum += v;
        finite++;
      }
    }
    double mean = finite == 0 ? 0 : sum / finite;
    double squares = 0;
    for (double v : sorted) {
      if (Double.isFinite(v)) {
        squares += (v - mean) * (v - mean);
      }
    }
    for (long c : counts) {
      d.addCounts(c);
    }
    long flagged = 0;
    if (defaulted != null) {
      for (boolean f : defaulted) {
        flagged += f ? 1 : 0;
      }
    }
    return d.setDefaulted(flagged)
        .setMean(mean)
        .setStddev(finite == 0 ? 0 : Math.sqrt(squares / finite))
        .build();
  }

  /** The distinct finite values of sorted {@code values}, stopping once there are {@code max}. */
  private static double[] distinctFinite(double[] sorted, int max) {
    double[] out = new double[max];
    int n = 0;
    for (double v : sorted) {
      if (Double.isFinite(v) && (n == 0 || v != out[n - 1])) {
        if (n == max) {
          break;
        }
        out[n++] = v;
      }
    }
    return Arrays.copyOf(out, n);
  }

  /**
   * Checks {@code spec}'s profile, if it has one: one distribution per input and per output, named
   * and ordered as the spec's, each well formed.
   *
   * @throws RegistryException INVALID naming the first bad field
   */
  static void check(ModelVersionSpec spec) {
    if (!spec.hasProfile()) {
      return;
    }
    ReferenceProfile profile = spec.getProfile();
    if (profile.getInputsCount() != spec.getInputsCount()) {
      throw RegistryException.invalid(
          "spec.profile.inputs has "
              + profile.getInputsCount()
              + " distributions for "
              + spec.getInputsCount()
              + " inputs");
    }
    if (profile.getOutputsCount() != spec.getOutputsCount()) {
      throw RegistryException.invalid(
          "spec.profile.outputs has "
              + profile.getOutputsCount()
              + " distributions for "
              + spec.getOutputsCount()
              + " outputs");
    }
    for (int i = 0; i < profile.getInputsCount(); i++) {
      check(profile.getInputs(i), spec.getInputs(i).getName(), "spec.profile.inputs[" + i + "]");
    }
    for (int i = 0; i < profile.getOutputsCount(); i++) {
      check(profile.getOutputs(i), spec.getOutputs(i).getName(), "spec.profile.outputs[" + i + "]");
    }
  }

  private static void check(Distribution d, String expected, String field) {
    if (!d.getName().equals(expected)) {
      throw RegistryException.invalid(
          field + ".name is '" + d.getName() + "', expected '" + expected + "'");
    }
    List<Double> points;
    String what;
    switch (d.getKind()) {
      case DISTRIBUTION_KIND_NUMERIC -> {
        points = d.getEdgesList();
        what = "edges";
        if (d.getValuesCount() > 0) {
          throw RegistryException.invalid(field + ".values must be empty for a NUMERIC column");
        }
      }
      case DISTRIBUTION_KIND_CATEGORICAL -> {
        points = d.getValuesList();
        what = "values";
        if (d.getEdgesCount() > 0) {
          throw RegistryException.invalid(field + ".edges must be empty for a CATEGORICAL column");
        }
      }
      default -> throw RegistryException.invalid(field + ".kind must be NUMERIC or CATEGORICAL");
    }
    if (points.size() > MAX_EDGES) {
      throw RegistryException.invalid(
          field + "." + what + " lists " + points.size() + "; at most " + MAX_EDGES);
    }
    for (int i = 0; i < points.size(); i++) {
      double p = points.get(i);
      if (!Double.isFinite(p)) {
        throw RegistryException.invalid(field + "." + what + "[" + i + "] is not finite");
      }
      if (i > 0 && !(p > points.get(i - 1))) {
        throw RegistryException.invalid(
            field + "." + what + " must be strictly ascending; [" + i + "] is " + p);
      }
    }
    if (d.getCountsCount() != points.size() + 1) {
      throw RegistryException.invalid(
          field
              + ".counts has "
              + d.getCountsCount()
              + " bins; "
              + points.size()
              + " "
              + what
              + " make "
              + (points.size() + 1));
    }
    long total = 0;
    for (int i = 0; i < d.getCountsCount(); i++) {
      long c = d.getCounts(i);
      if (c < 0) {
        throw RegistryException.invalid(field + ".counts[" + i + "] is negative");
      }
      total += c;
      if (total < 0) {
        throw RegistryException.invalid(field + ".counts overflow");
      }
    }
    if (total == 0) {
      throw RegistryException.invalid(field + ".counts are all 0");
    }
    if (d.getDefaulted() < 0 || d.getDefaulted() > total) {
      throw RegistryException.invalid(field + ".defaulted must be between 0 and " + total);
    }
    if (!Double.isFinite(d.getMean()) || !Double.isFinite(d.getStddev()) || d.getStddev() < 0) {
      throw RegistryException.invalid(field + ": mean and stddev must be finite, stddev >= 0");
    }
  }
}
