package dev.streamscore.ingest.generator;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/** Draws ranks 0..n-1 with probability proportional to 1/(rank+1)^s, by inverse CDF. */
final class Zipf {
  private final double[] cdf;

  Zipf(int n, double exponent) {
    cdf = new double[n];
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += 1 / Math.pow(i + 1, exponent);
      cdf[i] = sum;
    }
    for (int i = 0; i < n; i++) {
      cdf[i] /= sum;
    }
  }

  int next(RandomGenerator random) {
    int i = Arrays.binarySearch(cdf, random.nextDouble());
    int rank = i >= 0 ? i : -i - 1;
    return Math.min(rank, cdf.length - 1);
  }
}
