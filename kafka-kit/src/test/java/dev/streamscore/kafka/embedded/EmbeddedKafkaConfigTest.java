package dev.streamscore.kafka.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class EmbeddedKafkaConfigTest {

  @Test
  void rejectsPortOutsideTheValidRange() {
    assertThatThrownBy(() -> EmbeddedKafkaConfig.defaults().withPort(70000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("port must be between 0 and 65535, got 70000");
  }

  @Test
  void rejectsOverridesOfPropertiesTheBrokerOwns() {
    assertThatThrownBy(() -> EmbeddedKafkaConfig.defaults().withOverride("listeners", "x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'listeners'");
  }

  @Test
  void rejectsZeroPartitionsAndNonPositiveTimeout() {
    assertThatThrownBy(() -> EmbeddedKafkaConfig.defaults().withDefaultPartitions(0))
        .hasMessageContaining("defaultPartitions must be at least 1");
    assertThatThrownBy(() -> EmbeddedKafkaConfig.defaults().withStartTimeout(Duration.ZERO))
        .hasMessageContaining("startTimeout must be positive");
  }

  @Test
  void brokerPropertiesAreSmallSingleNodeAndLoopbackOnly() {
    var props =
        EmbeddedKafka.brokerProperties(
            EmbeddedKafkaConfig.defaults().withOverride("log.retention.ms", "1000"),
            Path.of("/tmp/x"),
            9092,
            9093,
            9094);
    assertThat(props)
        .containsEntry("listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093")
        .containsEntry("advertised.listeners", "PLAINTEXT://127.0.0.1:9092")
        .containsEntry("offsets.topic.replication.factor", "1")
        .containsEntry("transaction.state.log.replication.factor", "1")
        .containsEntry("log.cleaner.dedupe.buffer.size", "2097152")
        .containsEntry("log.retention.ms", "1000");
  }
}
