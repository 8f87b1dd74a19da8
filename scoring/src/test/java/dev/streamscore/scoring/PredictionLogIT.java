package dev.streamscore.scoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.kafka.embedded.EmbeddedKafka;
import dev.streamscore.kafka.embedded.EmbeddedKafkaConfig;
import dev.streamscore.proto.v1.Prediction;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

class PredictionLogIT {
  private static Prediction prediction(int i) {
    return Prediction.newBuilder()
        .setRequestId("r" + i)
        .putEntityIds("user_id", "u" + (i % 10))
        .setModelName("fraud")
        .setModelVersion(1)
        .build();
  }

  @Test
  void everyPredictionReachesItsModelsTopicKeyedByEntity() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults())) {
      try (PredictionLog log = PredictionLog.start(kafka.bootstrapServers(), 10_000)) {
        for (int i = 0; i < 1_000; i++) {
          log.publish(prediction(i));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> log.sent() == 1_000);
        assertThat(log.dropped()).isZero();
        assertThat(log.failed()).isZero();
      }
      Map<String, String> keyOf = new HashMap<>();
      try (KafkaConsumer<String, byte[]> consumer =
          new KafkaConsumer<>(
              Map.of(
                  "bootstrap.servers", kafka.bootstrapServers(),
                  "auto.offset.reset", "earliest",
                  "group.id", "check"),
              new StringDeserializer(),
              new ByteArrayDeserializer())) {
        consumer.subscribe(List.of(PredictionLog.topic("fraud")));
        await()
            .atMost(Duration.ofSeconds(30))
            .until(
                () -> {
                  for (var r : consumer.poll(Duration.ofMillis(200))) {
                    keyOf.put(Prediction.parseFrom(r.value()).getRequestId(), r.key());
                  }
                  return keyOf.size() == 1_000;
                });
      }
      assertThat(keyOf.get("r13")).isEqualTo("u3");
    }
  }

  @Test
  void withoutABrokerPublishingNeverBlocksAndWhatDoesNotFitIsCounted() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    try (PredictionLog log = PredictionLog.start("127.0.0.1:" + port, 100)) {
      long began = System.nanoTime();
      for (int i = 0; i < 50_000; i++) {
        log.publish(prediction(i));
      }
      // 50,000 offers to a full buffer take milliseconds, not a producer's blocking timeout.
      assertThat(Duration.ofNanos(System.nanoTime() - began)).isLessThan(Duration.ofSeconds(5));
      assertThat(log.published() + log.dropped()).isEqualTo(50_000);
      assertThat(log.dropped()).isGreaterThan(40_000);
      assertThat(log.sent()).isZero();
    }
  }
}
