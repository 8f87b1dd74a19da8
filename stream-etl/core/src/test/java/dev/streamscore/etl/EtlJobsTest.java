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
  void countsPrintedInNameOrderAreReadBackAndWhatIsNotACountIsLeftOut() {
    String line =
        EtlJobs.counts(
            java.util.Map.of("rows", 9L, "events", Long.MAX_VALUE, "rejected.DUPLICATE", 0));
    assertThat(line).isEqualTo("events=" + Long.MAX_VALUE + " rejected.DUPLICATE=0 rows=9");
    assertThat(EtlJobs.parseCounts(line))
        .containsExactly(
            java.util.Map.entry("events", Long.MAX_VALUE),
            java.util.Map.entry("rejected.DUPLICATE", 0L),
            java.util.Map.entry("rows", 9L));
    assertThat(EtlJobs.parseCounts("  events=3 =4 rows= x=1e3 moved=99999999999999999999 ok=-1 "))
        .containsExactly(java.util.Map.entry("events", 3L), java.util.Map.entry("ok", -1L));
    assertThat(EtlJobs.parseCounts("")).isEmpty();
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

  @Test
  void aCommandLineIsReadAsOptionsAndFlagsInOrder() {
    assertThat(
            EtlJobs.options(
                new String[] {"--bootstrap", "k:9092", "--bounded", "--threads", "2"},
                java.util.Set.of("--bounded"),
                "usage"))
        .containsExactly(
            java.util.Map.entry("--bootstrap", "k:9092"),
            java.util.Map.entry("--bounded", ""),
            java.util.Map.entry("--threads", "2"));
    assertThatThrownBy(
            () -> EtlJobs.options(new String[] {"--threads"}, java.util.Set.of(), "usage: x"))
        .hasMessage("--threads needs a value; usage: x");
  }

  @Test
  void aTwoWayChoiceNamesBothChoices() {
    assertThat(EtlJobs.either("--state-store", "rocksdb", "rocksdb", "memory")).isTrue();
    assertThat(EtlJobs.either("--state-store", "memory", "rocksdb", "memory")).isFalse();
    assertThatThrownBy(() -> EtlJobs.either("--state-store", "heap", "rocksdb", "memory"))
        .hasMessage("--state-store must be rocksdb or memory, got 'heap'");
  }
}
