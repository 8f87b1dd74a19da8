package dev.streamscore.featurestore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SourcePartitionTest {
  @Test
  void theStoredFormReadsBackAsTheSamePartition() {
    SourcePartition p = new SourcePartition("features.user_txn", 3);

    assertThat(p.toString()).isEqualTo("features.user_txn:3");
    assertThat(SourcePartition.parse(p.toString())).isEqualTo(p);
    assertThat(SourcePartition.of(p.topicPartition())).isEqualTo(p);
  }

  @Test
  void aTopicWithAColonOrANegativePartitionIsRefused() {
    assertThatThrownBy(() -> new SourcePartition("a:b", 0)).hasMessageContaining("no ':'");
    assertThatThrownBy(() -> new SourcePartition("t", -1)).hasMessageContaining(">= 0");
    assertThatThrownBy(() -> SourcePartition.parse("t")).hasMessageContaining("topic:partition");
    assertThatThrownBy(() -> SourcePartition.parse("t:x")).hasMessageContaining("topic:partition");
  }
}
