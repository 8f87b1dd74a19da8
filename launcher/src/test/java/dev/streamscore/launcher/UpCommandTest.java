package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class UpCommandTest {
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    return Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
  }

  @Test
  void rejectsAMalformedKafkaAddressInOneLine() {
    int code = run("up", "--kafka", "no-port-here");

    assertThat(code).isEqualTo(1);
    assertThat(err.toString().strip())
        .isEqualTo("streamscore: --kafka must be host:port[,host:port...], got 'no-port-here'");
    assertThat(out.toString()).doesNotContain("ready");
  }

  @Test
  void rejectsKafkaTogetherWithKafkaPort() {
    int code = run("up", "--kafka", "127.0.0.1:9092", "--kafka-port", "9093");

    assertThat(code).isEqualTo(1);
    assertThat(err.toString()).contains("--kafka and --kafka-port exclude each other");
  }

  @Test
  void rejectsAnUnknownEngineInOneLine() {
    int code = run("up", "--kafka-port", "0", "--engine", "storm");

    assertThat(code).isEqualTo(1);
    assertThat(err.toString().strip())
        .isEqualTo("streamscore: --engine must be flink, spark or none, got 'storm'");
  }

  @Test
  void rejectsAnOutOfRangePort() {
    int code = run("up", "--kafka-port", "-1");

    assertThat(code).isEqualTo(1);
    assertThat(err.toString()).contains("--kafka-port must be between 0 and 65535, got -1");
  }

  @Test
  void rejectsAnInvalidSpecNamingFileLineAndField(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path spec = dir.resolve("bad.yaml");
    java.nio.file.Files.writeString(
        spec,
        "sources:\n  s:\n    key: k\n    event_time: t\n    fields:\n      k: {type: text}\n");

    int code = run("up", "--kafka-port", "0", "--spec", spec.toString());

    assertThat(code).isEqualTo(1);
    assertThat(err.toString().strip())
        .isEqualTo(
            "streamscore: invalid spec: "
                + spec
                + ":6: source 's' field 'k': unknown type 'text'"
                + " (expected one of double, long, string, bool, timestamp)");
  }

  @Test
  void printsVersionAndUsage() {
    assertThat(run("--version")).isZero();
    assertThat(out.toString()).startsWith("streamscore ");
    assertThat(run("up", "--help")).isZero();
    assertThat(out.toString()).contains("--data-dir").contains("--kafka");
  }

  @Test
  void theCommandListGivesEveryCommandAWholeOneLineSummary() {
    picocli.CommandLine cli = new picocli.CommandLine(new Main());
    assertThat(cli.getSubcommands()).containsKeys("up", "demo", "produce", "status", "models");
    cli.getSubcommands()
        .forEach(
            (name, sub) -> {
              String[] description = sub.getCommandSpec().usageMessage().description();
              assertThat(description).as(name).isNotEmpty();
              assertThat(description[0]).as(name).endsWith(".").hasSizeLessThanOrEqualTo(100);
            });
  }
}
