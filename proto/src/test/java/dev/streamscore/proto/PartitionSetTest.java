package dev.streamscore.proto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PartitionSetTest {
  @Test
  void parsesListsAndRangesIntoDistinctAscendingPartitions() {
    assertThat(PartitionSet.parse("3, 0-1,1").partitions()).containsExactly(0, 1, 3);
    assertThat(PartitionSet.parse("0-3").toString()).isEqualTo("0,1,2,3");
    assertThat(PartitionSet.parse("9999").max()).isEqualTo(9_999);
    assertThat(PartitionSet.parse("0-9999").partitions()).hasSize(10_000);
    assertThat(PartitionSet.parse("2").contains(2)).isTrue();
    assertThat(PartitionSet.parse("2").contains(1)).isFalse();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        ",",
        "a",
        "-1",
        "1-",
        "-",
        "3-1",
        "0--1",
        "10000",
        "0-10000",
        "99999999999",
        "1.5",
        "0,,1",
        "\u0661"
      })
  void refusesWhatIsNotAPartitionNamingIt(String text) {
    assertThatThrownBy(() -> PartitionSet.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageFindingMatch("partition|range|'");
  }

  @Test
  void refusesAnEmptySetAndOutOfRangeMembers() {
    assertThatThrownBy(() -> new PartitionSet(List.of()))
        .hasMessageContaining("at least one partition");
    assertThatThrownBy(() -> new PartitionSet(List.of(-1))).hasMessageContaining("-1");
  }
}
