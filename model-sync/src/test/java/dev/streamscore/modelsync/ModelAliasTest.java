package dev.streamscore.modelsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ModelAliasTest {
  @Test
  void readsModelColonAliasAndWritesItBack() {
    ModelAlias target = ModelAlias.parse("fraud:prod");

    assertThat(target).isEqualTo(new ModelAlias("fraud", "prod"));
    assertThat(target.toString()).isEqualTo("fraud:prod");
  }

  @Test
  void refusesWhatTheRegistryWouldRefuseSayingWhatIsExpected() {
    assertThatThrownBy(() -> ModelAlias.parse("fraud"))
        .hasMessage("a model alias is MODEL:ALIAS (fraud:prod), got 'fraud'");
    assertThatThrownBy(() -> ModelAlias.parse("Fraud:prod"))
        .hasMessage(
            "a model alias is MODEL:ALIAS (fraud:prod), each 1 to 64 of a-z, 0-9, '_' and '-',"
                + " got 'Fraud:prod'");
    assertThatThrownBy(() -> ModelAlias.parse("fraud:"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ModelAlias.parse("m".repeat(65) + ":prod"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ModelAlias.parse("m".repeat(100_000) + ":prod"))
        .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(200));
  }
}
