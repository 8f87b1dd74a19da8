package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlatformIT {

  @Test
  void usesAnExternalClusterInsteadOfStartingABroker(@TempDir Path dir) {
    try (EmbeddedKafka external = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Platform platform =
            Platform.start(
                PlatformConfig.anyPorts(Optional.of(external.bootstrapServers()), Optional.of(dir)),
                Clock.systemUTC())) {
      assertThat(platform.endpoints()).containsEntry("kafka", external.bootstrapServers());
      assertThat(dir.resolve("kafka")).doesNotExist();
    }
  }

  @Test
  void failsInOneSentenceWhenTheExternalClusterDoesNotAnswer(@TempDir Path dir) {
    var config =
        PlatformConfig.anyPorts(Optional.of("127.0.0.1:1"), Optional.of(dir))
            .withConnectTimeout(Duration.ofSeconds(2));

    assertThatThrownBy(() -> Platform.start(config, Clock.systemUTC()))
        .isInstanceOf(StartupException.class)
        .hasMessage(
            "Kafka at 127.0.0.1:1 did not answer within 2 s; check --kafka and that the cluster is up");
  }

  @Test
  void refusesASecondPlatformOnTheSameDataDirectory(@TempDir Path dir) {
    var config = PlatformConfig.anyPorts(Optional.empty(), Optional.of(dir));
    try (Platform first = Platform.start(config, Clock.systemUTC())) {
      assertThat(first.endpoints()).containsKey("kafka");

      assertThatThrownBy(() -> Platform.start(config, Clock.systemUTC()))
          .isInstanceOf(StartupException.class)
          .hasMessageContaining("data directory " + dir.toAbsolutePath())
          .hasMessageContaining("in use");
    }
    // Released on close: a new platform may use it.
    try (Platform again = Platform.start(config, Clock.systemUTC())) {
      assertThat(again.dataDir().root()).isEqualTo(dir.toAbsolutePath());
    }
  }

  @Test
  void deletesATemporaryDataDirectoryOnClose() {
    var config = PlatformConfig.anyPorts(Optional.empty(), Optional.empty());
    Path root;
    try (Platform platform = Platform.start(config, Clock.systemUTC())) {
      root = platform.dataDir().root();
      assertThat(root.resolve("kafka")).isDirectory();
    }
    assertThat(root).doesNotExist();
  }
}
