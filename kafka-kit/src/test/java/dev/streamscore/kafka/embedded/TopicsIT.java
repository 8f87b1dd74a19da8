package dev.streamscore.kafka.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.kafka.Topics;
import dev.streamscore.kafka.TopicsNotReadyException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TopicsIT {
  private static EmbeddedKafka kafka;
  private static Admin admin;

  @BeforeAll
  static void startBroker() {
    kafka = EmbeddedKafka.start(EmbeddedKafkaConfig.defaults());
    admin = Admin.create(kafka.clientProperties());
  }

  @AfterAll
  static void stopBroker() {
    admin.close();
    kafka.close();
  }

  @Test
  void ensureCreatesMissingTopicsAndIsIdempotent() throws Exception {
    Topics topics = Topics.using(admin);
    var wanted = List.of(new NewTopic("a.one", 4, (short) 1), new NewTopic("a.two", 1, (short) 1));

    topics.ensure(wanted, Duration.ofSeconds(30));
    topics.ensure(wanted, Duration.ofSeconds(30));

    assertThat(admin.listTopics().names().get()).contains("a.one", "a.two");
    assertThat(
            admin.describeTopics(Set.of("a.one")).allTopicNames().get().get("a.one").partitions())
        .hasSize(4);
  }

  @Test
  void refusesAnExistingTopicWithTooFewPartitions() {
    Topics topics = Topics.using(admin);
    topics.ensure(List.of(new NewTopic("b.small", 1, (short) 1)), Duration.ofSeconds(30));

    assertThatThrownBy(
            () ->
                topics.ensure(
                    List.of(new NewTopic("b.small", 3, (short) 1)), Duration.ofSeconds(30)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage(
            "topic 'b.small' exists with 1 partition(s) but 3 are required; delete it or add partitions");
  }

  @Test
  void awaitReadyFailsWithTheTopicNameWhenTheTopicNeverAppears() {
    assertThatThrownBy(
            () -> Topics.using(admin).awaitReady(List.of("c.absent"), Duration.ofMillis(500)))
        .isInstanceOf(TopicsNotReadyException.class)
        .hasMessageContaining("[c.absent]");
  }
}
