package dev.streamscore.scoring.monitor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LongIntMapTest {
  @Test
  void behavesAsAHashMapUnderRandomPutsAndRemovesWithCollidingKeys() {
    Random random = new Random(1);
    LongIntMap map = new LongIntMap(4);
    Map<Long, Integer> reference = new HashMap<>();
    for (int op = 0; op < 200_000; op++) {
      // Few distinct keys, many equal low bits: long probe chains and deletions inside them.
      long key = (random.nextInt(3_000) * (1L << 40)) ^ random.nextInt(8);
      if (random.nextInt(3) == 0) {
        map.remove(key);
        reference.remove(key);
      } else {
        int value = random.nextInt(1_000_000);
        map.put(key, value);
        reference.put(key, value);
      }
      if (op % 1_000 == 0) {
        assertThat(map.size()).isEqualTo(reference.size());
        for (Map.Entry<Long, Integer> e : reference.entrySet()) {
          assertThat(map.get(e.getKey())).isEqualTo(e.getValue());
        }
      }
    }
    assertThat(map.get(Long.MIN_VALUE)).isEqualTo(LongIntMap.ABSENT);
    map.clear();
    assertThat(map.size()).isZero();
  }
}
