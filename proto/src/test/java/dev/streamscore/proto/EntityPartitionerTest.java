package dev.streamscore.proto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.junit.jupiter.api.Test;

class EntityPartitionerTest {
  @Test
  void givesThePartitionKafkasDefaultPartitionerGivesTheEntityIdAsKey() {
    SplittableRandom random = new SplittableRandom(7);
    for (int i = 0; i < 20_000; i++) {
      // Lengths 0..40 cover every tail length of murmur2; code points up to U+10FFFF.
      StringBuilder id = new StringBuilder();
      int length = random.nextInt(41);
      for (int c = 0; c < length; c++) {
        id.appendCodePoint(
            random.nextBoolean() ? 'a' + random.nextInt(26) : 1 + random.nextInt(0x10FFFF - 0x800));
      }
      String entity = id.toString();
      int partitions = 1 + random.nextInt(64);
      assertThat(EntityPartitioner.partition(entity, partitions))
          .as("%s of %d", entity, partitions)
          .isEqualTo(
              BuiltInPartitioner.partitionForKey(
                  entity.getBytes(StandardCharsets.UTF_8), partitions));
    }
  }

  @Test
  void refusesANonPositivePartitionCount() {
    assertThatThrownBy(() -> EntityPartitioner.partition("u1", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("got 0");
    assertThatThrownBy(() -> EntityPartitioner.partition("u1", Integer.MIN_VALUE))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
