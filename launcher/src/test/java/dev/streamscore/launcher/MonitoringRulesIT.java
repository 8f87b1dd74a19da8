package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The alert rules and the Grafana dashboard in {@code deploy/monitoring}, checked by Debian's
 * {@code promtool} (package prometheus): the rules parse, their unit tests pass (each alert fires
 * on recorded series and stays quiet on small samples), and every dashboard query is valid PromQL.
 */
class MonitoringRulesIT {
  private static final Path DIR = EtlProcess.home().resolve("deploy/monitoring");
  @TempDir Path tmp;

  record Run(int code, String output) {}

  static Run promtool(Path workDir, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("promtool"));
    command.addAll(List.of(args));
    Process p =
        new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Run(p.exitValue(), out);
  }

  @Test
  void theAlertRulesParseAndTheirUnitTestsPass() throws Exception {
    Run check = promtool(DIR, "check", "rules", "alerts.yml");
    assertThat(check.code()).as(check.output()).isZero();
    assertThat(check.output()).contains("SUCCESS: 8 rules found");
    Run test = promtool(DIR, "test", "rules", "alerts_test.yml");
    assertThat(test.code()).as(test.output()).isZero();
    assertThat(test.output()).contains("SUCCESS");
  }

  @Test
  void aRuleUnitTestThatExpectsTheWrongAlertFails() throws Exception {
    Files.copy(DIR.resolve("alerts.yml"), tmp.resolve("alerts.yml"));
    String tests = Files.readString(DIR.resolve("alerts_test.yml"));
    // x1 drifted from the start: the alert the test says is not there yet at minute 12 is.
    Files.writeString(
        tmp.resolve("alerts_test.yml"), tests.replace("'0.01+0x9 0.3+0x20'", "'0.3+0x30'"));
    Run test = promtool(tmp, "test", "rules", "alerts_test.yml");
    assertThat(test.code()).isNotZero();
    assertThat(test.output()).contains("alertname: StreamscoreInputDrift, time: 12m");
  }

  @Test
  void everyDashboardQueryIsValidPromQl() throws Exception {
    JsonObject dashboard =
        JsonParser.parseString(Files.readString(DIR.resolve("grafana-dashboard.json")))
            .getAsJsonObject();
    StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
    int queries = 0;
    for (JsonElement panel : dashboard.getAsJsonArray("panels")) {
      for (JsonElement target : panel.getAsJsonObject().getAsJsonArray("targets")) {
        String expr = target.getAsJsonObject().get("expr").getAsString();
        rules.append("      - record: dashboard:q").append(queries++).append('\n');
        rules.append("        expr: '").append(expr.replace("'", "''")).append("'\n");
      }
    }
    assertThat(queries).isGreaterThanOrEqualTo(12);
    write(tmp.resolve("dashboard-rules.yml"), rules.toString());
    Run check = promtool(tmp, "check", "rules", "dashboard-rules.yml");
    assertThat(check.code()).as(check.output()).isZero();
    assertThat(check.output()).contains("SUCCESS: " + queries + " rules found");
  }

  private static void write(Path file, String text) throws IOException {
    Files.writeString(file, text);
  }
}
