package dev.streamscore.etl.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class SparkEtlOptionsTest {
  private static SparkEtlMain.Options parse(String... args) {
    return SparkEtlMain.Options.parse(args);
  }

  @Test
  void theEmbeddedDefaultsNeedOnlyTheBootstrap() {
    SparkEtlMain.Options o = parse("--bootstrap", "127.0.0.1:9092");
    assertThat(o.bootstrap()).isEqualTo("127.0.0.1:9092");
    assertThat(o.sources()).isEmpty();
    assertThat(o.rocksdb()).isTrue();
    assertThat(o.bounded()).isFalse();
    assertThat(o.threads()).isEqualTo(2);
    assertThat(o.triggerIntervalMs()).isEqualTo(500);
    assertThat(o.dlqTopic()).isEqualTo("events.dlq");
  }

  @Test
  void everyOptionIsRead() {
    SparkEtlMain.Options o =
        parse(
            "--bootstrap",
            "k:9092",
            "--sources",
            "payments,clicks",
            "--checkpoint-dir",
            "cp",
            "--state-store",
            "memory",
            "--bounded",
            "--threads",
            "4",
            "--max-offsets-per-trigger",
            "1000",
            "--dlq-topic",
            "dlq",
            "--parent-pid",
            "42",
            "--trigger-interval-ms",
            "100");
    assertThat(o.sources()).containsExactly("payments", "clicks");
    assertThat(o.checkpointDir()).isEqualTo(Path.of("cp").toAbsolutePath());
    assertThat(o.rocksdb()).isFalse();
    assertThat(o.bounded()).isTrue();
    assertThat(o.threads()).isEqualTo(4);
    assertThat(o.maxOffsetsPerTrigger()).isEqualTo(1000);
    assertThat(o.dlqTopic()).isEqualTo("dlq");
    assertThat(o.parentPid()).isEqualTo(42);
    assertThat(o.triggerIntervalMs()).isEqualTo(100);
  }

  @Test
  void aBadCommandLineIsOneSentenceSayingWhatToChange() {
    java.util.Map<List<String>, String> cases =
        java.util.Map.of(
            List.of("--threads", "2"), "--bootstrap is required",
            List.of("--bootstrap"), "--bootstrap needs a value",
            List.of("--bootstrap", "k:9092", "--state-store", "heap"),
                "--state-store must be rocksdb or memory, got 'heap'",
            List.of("--bootstrap", "k:9092", "--threads", "zero"),
                "--threads must be a positive whole number, got 'zero'",
            List.of("--bootstrap", "k:9092", "--engine", "spark"), "unknown option '--engine'");
    cases.forEach(
        (args, expected) ->
            assertThatThrownBy(() -> SparkEtlMain.Options.parse(args.toArray(String[]::new)))
                .as(String.join(" ", args))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(expected)
                .message()
                .doesNotContain("\n"));
  }
}
