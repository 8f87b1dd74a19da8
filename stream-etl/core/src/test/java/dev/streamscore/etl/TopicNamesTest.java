package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TopicNamesTest {
  @Test
  void namesEveryTopicOfThePlatform() {
    assertThat(TopicNames.raw("payments")).isEqualTo("raw.payments");
    assertThat(TopicNames.events("payments")).isEqualTo("events.payments");
    assertThat(TopicNames.features("user_txn")).isEqualTo("features.user_txn");
    assertThat(TopicNames.predictions("fraud")).isEqualTo("predictions.fraud");
    assertThat(TopicNames.DLQ).isEqualTo("events.dlq");
    assertThat("raw.payments").matches(TopicNames.rawPattern());
  }

  @Test
  void tellsTopicsApartAndTheDeadLetterTopicIsNoSourcesEvents() {
    assertThat(TopicNames.isRaw("raw.payments")).isTrue();
    assertThat(TopicNames.isRaw("raw.")).isFalse();
    assertThat(TopicNames.isEvents("events.payments")).isTrue();
    assertThat(TopicNames.isEvents(TopicNames.DLQ)).isFalse();
    assertThat(TopicNames.sourceOfRaw("raw.payments")).isEqualTo("payments");
    assertThatThrownBy(() -> TopicNames.sourceOfRaw("events.payments"))
        .hasMessage("'events.payments' is not a raw.<source> topic");
  }
}
