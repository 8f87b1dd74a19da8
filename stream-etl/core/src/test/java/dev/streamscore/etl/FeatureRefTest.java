package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class FeatureRefTest {
  private static final FeatureSpec SPEC = FeatureSpec.shippedPayments();

  @Test
  void aNameWithAColonIsAStoredFeatureAndOneWithoutIsNot() {
    assertThat(FeatureRef.of("user_txn:txn_count_1h"))
        .contains(new FeatureRef("user_txn", "txn_count_1h"));
    assertThat(FeatureRef.of("amount")).isEqualTo(Optional.empty());
    assertThat(FeatureRef.parse("user_txn:txn_count_1h").toString())
        .isEqualTo("user_txn:txn_count_1h");
  }

  @Test
  void resolvesAgainstTheViewsOrNamesWhatIsMissing() {
    assertThat(FeatureRef.parse("user_txn:txn_count_1h").definitionIn(SPEC.views()).name())
        .isEqualTo("txn_count_1h");
    assertThatThrownBy(() -> FeatureRef.parse("amount"))
        .hasMessage("feature 'amount' must be qualified as view:feature");
    assertThatThrownBy(() -> FeatureRef.of("user_txn:"))
        .hasMessage("feature 'user_txn:' must be qualified as view:feature");
    assertThatThrownBy(() -> FeatureRef.parse("clicks:n").viewIn(SPEC.views()))
        .hasMessage(
            "feature 'clicks:n' names view 'clicks', which is not among the views here"
                + " (user_txn, user_daily)");
    assertThatThrownBy(() -> FeatureRef.parse("user_txn:nope").definitionIn(SPEC.views()))
        .hasMessage("view 'user_txn' has no feature 'nope'");
  }
}
