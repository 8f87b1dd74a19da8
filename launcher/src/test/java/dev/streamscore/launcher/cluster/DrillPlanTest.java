package dev.streamscore.launcher.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class DrillPlanTest {
  private static Drill.Plan plan(List<String> faults) {
    return new Drill.Plan(
        100,
        20,
        20,
        Duration.ofSeconds(5),
        faults,
        Duration.ofSeconds(3),
        1,
        false,
        Duration.ofSeconds(30));
  }

  @Test
  void aFaultOfMembersJoinedByPlusNamesEachOfThem() {
    assertThat(plan(List.of("scoring-1+flink-taskmanager", "kafka-2")).faults())
        .containsExactly("scoring-1+flink-taskmanager", "kafka-2");
    assertThat(Drill.members("scoring-1+flink-taskmanager"))
        .containsExactly("scoring-1", "flink-taskmanager");
    assertThat(Drill.members("kafka-2")).containsExactly("kafka-2");
  }

  @Test
  void anEmptyFaultOrAnEmptyMemberOfOneIsRefusedNamingIt() {
    for (String bad : List.of("", " ", "+", "scoring-1+", "+kafka-2", "a++b")) {
      assertThatThrownBy(() -> plan(List.of(bad)))
          .as("'%s'", bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'" + bad + "'");
    }
  }
}
