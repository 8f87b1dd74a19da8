package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FeatureSpecTest {

  static String paymentsYaml() {
    try (InputStream in = FeatureSpecTest.class.getResourceAsStream("payments.yaml")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  static SourceSpec payments() {
    return FeatureSpec.parse(paymentsYaml(), "payments.yaml").source("payments").orElseThrow();
  }

  @Test
  void shipsThePaymentsSpecOnTheClassPath() {
    assertThat(FeatureSpec.shippedPayments()).isEqualTo(FeatureSpec.parse(paymentsYaml(), "x"));
  }

  @Test
  void parsesTheShippedPaymentsSpec() {
    SourceSpec source = payments();

    assertThat(source.keyField()).isEqualTo("user_id");
    assertThat(source.eventIdField()).contains("txn_id");
    assertThat(source.eventTimeField()).isEqualTo("ts");
    assertThat(source.fields()).containsKeys("amount", "country", "is_fraud");
    assertThat(source.fields().get("amount").min()).hasValue(0);
    assertThat(source.fields().get("amount").required()).isTrue();
    assertThat(source.fields().get("country").required()).isFalse();
    assertThat(source.rawTopic()).isEqualTo("raw.payments");
    assertThat(source.eventsTopic()).isEqualTo("events.payments");
    assertThat(source.isPayloadField("amount")).isTrue();
    assertThat(source.isPayloadField("user_id")).isFalse();
  }

  @Test
  void loadsFromAFileAndNamesTheFileInErrors(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("spec.yaml");
    Files.writeString(file, paymentsYaml());
    assertThat(FeatureSpec.load(file).sources()).containsOnlyKeys("payments");

    assertThatThrownBy(() -> FeatureSpec.load(dir.resolve("absent.yaml")))
        .isInstanceOf(SpecException.class)
        .hasMessageStartingWith(dir.resolve("absent.yaml") + ": cannot read the spec");
  }

  @Test
  void namesLineSourceAndFieldOfAnUnknownType() {
    String yaml = paymentsYaml().replace("amount:      {type: double", "amount:      {type: float");

    assertThatThrownBy(() -> FeatureSpec.parse(yaml, "p.yaml"))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "p.yaml:15: source 'payments' field 'amount': unknown type 'float'"
                + " (expected one of double, long, string, bool, timestamp)");
  }

  @Test
  void rejectsAKeyFieldThatIsNotDeclared() {
    String yaml = paymentsYaml().replace("key: user_id", "key: account_id");

    assertThatThrownBy(() -> FeatureSpec.parse(yaml, "p.yaml"))
        .hasMessage(
            "p.yaml:5: source 'payments': key names field 'account_id', which is not declared");
  }

  @Test
  void rejectsAnOptionalEventTimeField() {
    String yaml =
        paymentsYaml()
            .replace("ts:          {type: timestamp, required: true}", "ts: {type: timestamp}");

    assertThatThrownBy(() -> FeatureSpec.parse(yaml, "p.yaml"))
        .hasMessage("p.yaml:5: source 'payments': event_time field 'ts' must be required");
  }

  @Test
  void rejectsATypoInAKeyWithTheAllowedKeys() {
    String yaml = paymentsYaml().replace("event_time: ts", "event_tme: ts");

    assertThatThrownBy(() -> FeatureSpec.parse(yaml, "p.yaml"))
        .hasMessage(
            "p.yaml:8: source 'payments': unknown key 'event_tme'"
                + " (expected one of dedupe_horizon, event_id, event_time, event_time_window,"
                + " fields, key, transforms)");
  }

  @Test
  void rejectsBoundsOnNonNumericFieldsAndInvertedBounds() {
    String onString =
        paymentsYaml()
            .replace(
                "country:     {type: string, if_null: default, default: unknown}",
                "country: {type: string, min: 1}");
    assertThatThrownBy(() -> FeatureSpec.parse(onString, "p.yaml"))
        .hasMessage(
            "p.yaml:17: source 'payments' field 'country': field 'country' is string;"
                + " only double and long fields take min/max");

    String inverted = paymentsYaml().replace("min: 1, max: 1000}", "min: 10, max: 1}");
    assertThatThrownBy(() -> FeatureSpec.parse(inverted, "p.yaml"))
        .hasMessageContaining("p.yaml:20: source 'payments' field 'items'")
        .hasMessageContaining("min 10.0 above max 1.0");
  }

  @Test
  void reportsInvalidYamlAndEmptySpecsWithTheirLine() {
    assertThatThrownBy(() -> FeatureSpec.parse("sources:\n  payments: [\n", "bad.yaml"))
        .isInstanceOf(SpecException.class)
        .hasMessageStartingWith("bad.yaml:3: invalid YAML");
    assertThatThrownBy(() -> FeatureSpec.parse("", "empty.yaml"))
        .hasMessage("empty.yaml: the spec is empty; it needs at least 'sources'");
    assertThatThrownBy(() -> FeatureSpec.parse("version: 2\nsources: {}\n", "v.yaml"))
        .hasMessage("v.yaml:1: version must be 1, got '2'");
    assertThatThrownBy(() -> FeatureSpec.parse("sources:\n  a: {}\n  a: {}\n", "dup.yaml"))
        .hasMessageContaining("dup.yaml:")
        .hasMessageContaining("duplicate key");
  }
}
