package dev.streamscore.ingest.generator;

import java.time.Duration;
import java.util.Objects;

/**
 * How the payments generator draws its stream.
 *
 * @param seed the random seed; the same seed and clock give the same stream
 * @param users distinct users, drawn with Zipf popularity
 * @param merchants distinct merchants, drawn with Zipf popularity
 * @param zipfExponent skew of user and merchant popularity (1.0 ≈ classic Zipf; 0 = uniform)
 * @param invalidRate share of events broken in one of the ways the validator rejects
 * @param duplicateRate share of events that repeat an earlier event byte for byte
 * @param outOfOrderRate share of events whose event time lies up to {@code maxDisorder} in the past
 * @param maxDisorder how far back an out-of-order event's time may lie
 * @param fraudRate chance per event that a fraud burst starts on some user
 * @param amountShift how far every amount is moved, in standard deviations of an ordinary payment's
 *     amount ({@link #AMOUNT_SD}): 0 for none, 0.5 for the drift drill's shift
 */
public record GeneratorConfig(
    long seed,
    int users,
    int merchants,
    double zipfExponent,
    double invalidRate,
    double duplicateRate,
    double outOfOrderRate,
    Duration maxDisorder,
    double fraudRate,
    double amountShift) {

  /**
   * The standard deviation of an ordinary payment's amount: the amount is log-normal with
   * parameters 3.4 and 1.0, whose standard deviation is sqrt((e - 1) e^(2·3.4 + 1)).
   */
  public static final double AMOUNT_SD = Math.sqrt((Math.E - 1) * Math.exp(2 * 3.4 + 1));

  public GeneratorConfig {
    if (users < 1 || merchants < 1) {
      throw new IllegalArgumentException(
          "users and merchants must be at least 1, got " + users + " and " + merchants);
    }
    if (zipfExponent < 0 || !Double.isFinite(zipfExponent)) {
      throw new IllegalArgumentException("zipfExponent must be >= 0, got " + zipfExponent);
    }
    rate("invalidRate", invalidRate);
    rate("duplicateRate", duplicateRate);
    rate("outOfOrderRate", outOfOrderRate);
    rate("fraudRate", fraudRate);
    if (invalidRate + duplicateRate > 1) {
      throw new IllegalArgumentException(
          "invalidRate + duplicateRate must be at most 1, got " + (invalidRate + duplicateRate));
    }
    if (!(Math.abs(amountShift) <= 100)) {
      throw new IllegalArgumentException(
          "amountShift must be between -100 and 100 standard deviations, got " + amountShift);
    }
    Objects.requireNonNull(maxDisorder, "maxDisorder");
    if (maxDisorder.isNegative()) {
      throw new IllegalArgumentException("maxDisorder must not be negative, got " + maxDisorder);
    }
  }

  private static void rate(String name, double value) {
    if (!(value >= 0 && value <= 1)) {
      throw new IllegalArgumentException(name + " must be between 0 and 1, got " + value);
    }
  }

  /**
   * 100,000 users, 5,000 merchants, Zipf 1.1, 1% invalid, 0.5% duplicates, 2% out of order by up to
   * 2 minutes, a fraud burst every 2,000 events on average.
   */
  public static GeneratorConfig defaults(long seed) {
    return new GeneratorConfig(
        seed, 100_000, 5_000, 1.1, 0.01, 0.005, 0.02, Duration.ofMinutes(2), 0.0005, 0);
  }

  public GeneratorConfig withRates(double invalid, double duplicate, double outOfOrder) {
    return new GeneratorConfig(
        seed,
        users,
        merchants,
        zipfExponent,
        invalid,
        duplicate,
        outOfOrder,
        maxDisorder,
        fraudRate,
        amountShift);
  }

  public GeneratorConfig withPopulation(int users, int merchants) {
    return new GeneratorConfig(
        seed,
        users,
        merchants,
        zipfExponent,
        invalidRate,
        duplicateRate,
        outOfOrderRate,
        maxDisorder,
        fraudRate,
        amountShift);
  }

  public GeneratorConfig withFraudRate(double fraudRate) {
    return new GeneratorConfig(
        seed,
        users,
        merchants,
        zipfExponent,
        invalidRate,
        duplicateRate,
        outOfOrderRate,
        maxDisorder,
        fraudRate,
        amountShift);
  }

  /** Every amount moved by {@code sds} standard deviations of an ordinary amount. */
  public GeneratorConfig withAmountShift(double sds) {
    return new GeneratorConfig(
        seed,
        users,
        merchants,
        zipfExponent,
        invalidRate,
        duplicateRate,
        outOfOrderRate,
        maxDisorder,
        fraudRate,
        sds);
  }
}
