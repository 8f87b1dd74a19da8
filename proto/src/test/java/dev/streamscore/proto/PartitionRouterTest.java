package dev.streamscore.proto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.proto.v1.PredictRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PartitionRouterTest {
  private static final List<String> SCORING = List.of("streamscore.v1.Scoring");

  @Test
  void routesEachEntityToTheGroupHoldingItsPartition() {
    try (PartitionRouter router =
        PartitionRouter.forTable(
            "0,1=127.0.0.1:9001,127.0.0.1:9002; 2-3=127.0.0.1:9003", SCORING)) {
      assertThat(router.partitions()).isEqualTo(4);
      SplittableRandom random = new SplittableRandom(1);
      int[] seen = new int[4];
      for (int i = 0; i < 1_000; i++) {
        String entity = "u" + random.nextLong();
        int p = router.partitionOf(entity);
        seen[p]++;
        assertThat(p).isEqualTo(EntityPartitioner.partition(entity, 4));
        assertThat(router.channelFor(entity).authority())
            .isEqualTo(p < 2 ? "127.0.0.1:9001" : "127.0.0.1:9003");
      }
      assertThat(java.util.Arrays.stream(seen).min().orElseThrow()).isGreaterThan(150);
      assertThat(router.toString())
          .isEqualTo("0,1=127.0.0.1:9001,127.0.0.1:9002;2,3=127.0.0.1:9003");
    }
  }

  @Test
  void aRequestWhoseEntitiesNoGroupHoldsTogetherFailsBeforeItIsSent() {
    try (PartitionRouter router =
        PartitionRouter.forTable("0,1=127.0.0.1:9001;2,3=127.0.0.1:9003", SCORING)) {
      String low = entityIn(0, router);
      String high = entityIn(3, router);
      PredictRequest both =
          PredictRequest.newBuilder()
              .putEntityIds("user_id", low)
              .putEntityIds("card", high)
              .build();
      assertThatThrownBy(() -> router.channelFor(both))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION))
          .hasMessageContaining("partitions [0, 3]");
      assertThat(router.channelFor(PredictRequest.getDefaultInstance()).authority())
          .as("a request without entities goes to the first group")
          .isEqualTo("127.0.0.1:9001");
    }
  }

  @Test
  void anOverlappingGroupServesRequestsSpanningItsPartitions() {
    try (PartitionRouter router =
        PartitionRouter.forTable(
            "0,1=127.0.0.1:9001;2,3=127.0.0.1:9003;0-3=127.0.0.1:9009", SCORING)) {
      List<String> spanning = List.of(entityIn(0, router), entityIn(3, router));
      assertThat(router.channelFor(spanning).authority()).isEqualTo("127.0.0.1:9009");
      assertThat(router.channelFor(spanning.get(0)).authority()).isEqualTo("127.0.0.1:9001");
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "0,1",
        "=127.0.0.1:9001",
        "0,1=",
        "0,1=127.0.0.1",
        "0,1=127.0.0.1:0",
        "0,1=127.0.0.1:9001;3=127.0.0.1:9003",
        "x=127.0.0.1:9001",
        "0,1=127.0.0.1:9001;;2,3=127.0.0.1:9002"
      })
  void refusesATableThatIsMalformedOrLeavesAPartitionWithoutANode(String table) {
    assertThatThrownBy(() -> PartitionRouter.forTable(table, SCORING))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageFindingMatch("PARTITIONS=|host:port|partition|port");
  }

  private static String entityIn(int partition, PartitionRouter router) {
    for (int i = 0; ; i++) {
      if (router.partitionOf("u" + i) == partition) {
        return "u" + i;
      }
    }
  }
}
