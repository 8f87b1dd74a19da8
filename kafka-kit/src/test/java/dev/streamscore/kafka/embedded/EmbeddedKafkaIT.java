package dev.streamscore.kafka.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.kafka.Topics;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaIT {

  @Test
  void roundTripsTenThousandRecordsThroughAPartitionedTopic() {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
        Admin admin = Admin.create(kafka.clientProperties())) {
      Topics.using(admin)
          .ensure(List.of(new NewTopic("roundtrip", 3, (short) 1)), Duration.ofSeconds(30));

      List<String> sent = TestClients.produce(kafka, "roundtrip", 10_000);
      List<String> received =
          TestClients.consume(kafka, "roundtrip", 10_000, Duration.ofSeconds(60));

      assertThat(received).hasSize(10_000).containsExactlyInAnyOrderElementsOf(sent);
    }
  }

  @Test
  void keepsRecordsAcrossARestartWithTheSameLogDirectory(@TempDir Path dir) {
    EmbeddedKafkaConfig config = EmbeddedKafkaConfig.defaults().withLogDir(dir.resolve("kafka"));
    List<String> sent;
    try (EmbeddedKafka kafka = EmbeddedKafka.start(config);
        Admin admin = Admin.create(kafka.clientProperties())) {
      Topics.using(admin)
          .ensure(List.of(new NewTopic("durable", 2, (short) 1)), Duration.ofSeconds(30));
      sent = TestClients.produce(kafka, "durable", 1_000);
    }
    assertThat(dir.resolve("kafka")).exists();

    try (EmbeddedKafka kafka = EmbeddedKafka.start(config)) {
      List<String> received = TestClients.consume(kafka, "durable", 1_000, Duration.ofSeconds(60));
      assertThat(received).containsExactlyInAnyOrderElementsOf(sent);
    }
  }

  @Test
  void deletesATemporaryLogDirectoryOnClose() {
    Path dir;
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults())) {
      dir = kafka.logDir();
      assertThat(kafka.isTemporary()).isTrue();
      assertThat(Files.isDirectory(dir)).isTrue();
    }
    assertThat(dir).doesNotExist();
  }

  @Test
  void refusesAPortThatIsInUseWithAClearMessage() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      int port = taken.getLocalPort();
      assertThatThrownBy(() -> EmbeddedKafka.start(EmbeddedKafkaConfig.defaults().withPort(port)))
          .isInstanceOf(EmbeddedKafkaException.class)
          .hasMessage("port " + port + " on 127.0.0.1 is in use; choose another port or 0");
    }
  }
}
