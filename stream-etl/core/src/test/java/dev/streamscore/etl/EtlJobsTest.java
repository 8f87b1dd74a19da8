package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EtlJobsTest {
  @TempDir Path dir;

  @Test
  void withoutAFileTheJobRunsTheShippedSpecOverEverySourceWithViews() {
    EtlJobs.SpecText spec = EtlJobs.spec(Optional.empty());
    assertThat(spec.origin()).isEqualTo("built-in payments.yaml");
    assertThat(EtlJobs.sources(spec.parse(), List.of())).containsExactly("payments");
  }

  @Test
  void aSpecFileIsReadAndAMissingOneIsNamed() throws Exception {
    Path file = Files.writeString(dir.resolve("golden.yaml"), GoldenStream.specText());
    assertThat(EtlJobs.spec(Optional.of(file)).parse()).isEqualTo(GoldenStream.spec());
    assertThatThrownBy(() -> EtlJobs.spec(Optional.of(dir.resolve("nope.yaml"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(dir.resolve("nope.yaml") + ": cannot read the spec");
  }

  @Test
  void anUnknownSourceIsRefusedNamingTheDeclaredOnes() {
    assertThatThrownBy(() -> EtlJobs.sources(FeatureSpec.shippedPayments(), List.of("clicks")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("the spec declares no source 'clicks' (declared: payments)");
  }

  @Test
  void optionValuesMustBePositiveWholeNumbers() {
    assertThat(EtlJobs.positive("--threads", "4")).isEqualTo(4);
    for (String bad : List.of("0", "-1", "two", "")) {
      assertThatThrownBy(() -> EtlJobs.positive("--threads", bad))
          .hasMessage("--threads must be a positive whole number, got '" + bad + "'");
    }
  }
}
