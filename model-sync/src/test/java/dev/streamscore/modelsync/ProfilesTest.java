package dev.streamscore.modelsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.proto.v1.Distribution;
import dev.streamscore.proto.v1.DistributionKind;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.ReferenceProfile;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class ProfilesTest {
  private static double[] normal(int n, long seed) {
    Random random = new Random(seed);
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = 50 + 10 * random.nextGaussian();
    }
    return v;
  }

  private static long sum(Distribution d) {
    return d.getCountsList().stream().mapToLong(Long::longValue).sum();
  }

  @Test
  void aContinuousColumnGetsTwentyBinsOfAboutEqualReferenceMass() {
    Distribution d = Profiles.distribution("amount", normal(10_000, 1), null);

    assertThat(d.getKind()).isEqualTo(DistributionKind.DISTRIBUTION_KIND_NUMERIC);
    assertThat(d.getEdgesCount()).isEqualTo(Profiles.NUMERIC_BINS - 1);
    assertThat(d.getCountsList()).allSatisfy(c -> assertThat(c).isBetween(480L, 520L));
    assertThat(sum(d)).isEqualTo(10_000);
    assertThat(d.getMean()).isCloseTo(50, org.assertj.core.data.Offset.offset(0.5));
    assertThat(d.getStddev()).isCloseTo(10, org.assertj.core.data.Offset.offset(0.5));
  }

  @Test
  void aColumnOfFewValuesIsCategoricalAndCountsEachValue() {
    double[] values = {0, 1, 1, 2, 2, 2, -0.0};
    boolean[] defaulted = {true, false, false, false, false, false, true};

    Distribution d = Profiles.distribution("txn_count", values, defaulted);

    assertThat(d.getKind()).isEqualTo(DistributionKind.DISTRIBUTION_KIND_CATEGORICAL);
    assertThat(d.getValuesList()).containsExactly(0.0, 1.0, 2.0);
    // -0.0 is the model's 0.0; the last bin holds values outside the list.
    assertThat(d.getCountsList()).containsExactly(2L, 2L, 3L, 0L);
    assertThat(d.getDefaulted()).isEqualTo(2);
    Bins bins = Bins.of(d);
    assertThat(bins.bin(2)).isEqualTo(2);
    assertThat(bins.bin(7)).isEqualTo(3);
    assertThat(bins.bin(Double.NaN)).isEqualTo(3);
  }

  @Test
  void liveValuesFallInTheReferenceBinsByEdgeIncludingTheExtremes() {
    Distribution d =
        Distribution.newBuilder()
            .setKind(DistributionKind.DISTRIBUTION_KIND_NUMERIC)
            .addEdges(-1)
            .addEdges(0)
            .addEdges(1)
            .build();
    Bins bins = Bins.of(d);

    assertThat(bins.count()).isEqualTo(4);
    assertThat(bins.bin(-Double.MAX_VALUE)).isZero();
    assertThat(bins.bin(Double.NEGATIVE_INFINITY)).isZero();
    assertThat(bins.bin(-1)).isEqualTo(1);
    assertThat(bins.bin(-0.0)).isEqualTo(2);
    assertThat(bins.bin(0.5)).isEqualTo(2);
    assertThat(bins.bin(1)).isEqualTo(3);
    assertThat(bins.bin(Double.POSITIVE_INFINITY)).isEqualTo(3);
    assertThat(bins.bin(Double.NaN)).isEqualTo(3);
  }

  @Test
  void hostileColumnsStillGiveAWellFormedDistribution() {
    double[] extremes = new double[1_000];
    for (int i = 0; i < extremes.length; i++) {
      extremes[i] =
          switch (i % 5) {
            case 0 -> Double.NaN;
            case 1 -> Double.POSITIVE_INFINITY;
            case 2 -> -Double.MAX_VALUE;
            case 3 -> Float.MIN_VALUE * (double) i;
            default -> 1e30 * i;
          };
    }
    Distribution d = Profiles.distribution("x", extremes, null);
    assertThat(sum(d)).isEqualTo(1_000);
    assertThat(Double.isFinite(d.getMean()) || d.getMean() == 0).isTrue();
    // Registering it is accepted: a profile the builder made always passes the registry's check.
    Profiles.check(spec(p -> p.setInputs(0, d.toBuilder().setName("user_txn:txn_count_10m"))));

    Distribution allNaN = Profiles.distribution("y", new double[] {Double.NaN, Double.NaN}, null);
    assertThat(allNaN.getCountsList()).containsExactly(2L);
    assertThatThrownBy(() -> Profiles.distribution("z", new double[0], null))
        .hasMessageContaining("'z' has no values");
  }

  private static ModelVersionSpec spec(UnaryOperator<ReferenceProfile.Builder> change) {
    ModelVersionSpec base = Fixtures.spec("fraud", 2, 1);
    ReferenceProfile.Builder profile = ReferenceProfile.newBuilder();
    profile.addInputs(
        Profiles.distribution("user_txn:txn_count_10m", new double[] {1, 2, 3}, null));
    profile.addInputs(Profiles.distribution("user_txn:txn_count_1h", normal(100, 2), null));
    profile.addOutputs(Profiles.distribution("out0", normal(100, 3), null));
    return base.toBuilder().setProfile(change.apply(profile)).build();
  }

  @Test
  void theRegistryRefusesAProfileThatDoesNotFitTheSpecNamingTheField() {
    Profiles.check(spec(p -> p));

    assertThatThrownBy(() -> Profiles.check(spec(p -> p.removeInputs(1))))
        .hasMessageContaining("spec.profile.inputs has 1 distributions for 2 inputs");
    assertThatThrownBy(
            () ->
                Profiles.check(spec(p -> p.setInputs(1, p.getInputs(1).toBuilder().setName("x")))))
        .hasMessageContaining("spec.profile.inputs[1].name is 'x'");
    assertThatThrownBy(
            () ->
                Profiles.check(
                    spec(p -> p.setInputs(1, p.getInputs(1).toBuilder().setEdges(3, 1e300)))))
        .hasMessageContaining("spec.profile.inputs[1].edges must be strictly ascending");
    assertThatThrownBy(
            () ->
                Profiles.check(
                    spec(p -> p.setInputs(1, p.getInputs(1).toBuilder().setEdges(0, Double.NaN)))))
        .hasMessageContaining("edges[0] is not finite");
    assertThatThrownBy(
            () ->
                Profiles.check(
                    spec(p -> p.setOutputs(0, p.getOutputs(0).toBuilder().addCounts(1)))))
        .hasMessageContaining("spec.profile.outputs[0].counts has 21 bins");
    assertThatThrownBy(
            () ->
                Profiles.check(
                    spec(p -> p.setInputs(0, p.getInputs(0).toBuilder().setCounts(0, -5)))))
        .hasMessageContaining("counts[0] is negative");
    assertThatThrownBy(
            () ->
                Profiles.check(
                    spec(p -> p.setInputs(0, p.getInputs(0).toBuilder().setDefaulted(99)))))
        .hasMessageContaining("defaulted must be between 0 and 3");
    assertThatThrownBy(
            () ->
                Profiles.check(
                    spec(
                        p ->
                            p.setInputs(
                                0,
                                p.getInputs(0).toBuilder()
                                    .setKind(DistributionKind.DISTRIBUTION_KIND_UNSPECIFIED)))))
        .hasMessageContaining("kind must be NUMERIC or CATEGORICAL");
    Distribution.Builder wide = p0().toBuilder().clearEdges().clearCounts();
    for (int i = 0; i <= Profiles.MAX_EDGES; i++) {
      wide.addEdges(i);
      wide.addCounts(1);
    }
    wide.addCounts(1);
    assertThatThrownBy(() -> Profiles.check(spec(p -> p.setInputs(1, wide))))
        .hasMessageContaining("edges lists 256; at most 255");
  }

  private static Distribution p0() {
    return Profiles.distribution("user_txn:txn_count_1h", normal(100, 2), null);
  }
}
