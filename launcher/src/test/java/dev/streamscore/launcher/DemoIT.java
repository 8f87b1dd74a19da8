package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code streamscore demo} end to end, smaller and without the Flink engine to keep CI short. */
class DemoIT {
  private final Launcher launcher = new Launcher();

  @AfterEach
  void killLeftovers() {
    launcher.killAll();
  }

  @Test
  void runsTheWholeLoopAndReports() throws Exception {
    Launcher.Running demo =
        launcher.start("demo", "--events", "12000", "--rate", "4000", "--engine", "none");
    assertThat(demo.awaitExit(Duration.ofMinutes(4))).as(String.join("\n", demo.lines())).isZero();
    String out = String.join("\n", demo.lines());
    assertThat(out)
        .contains("registered and promoted fraud v1")
        .contains("hot-swapped to v2 under load")
        .contains("streamscore demo report");
    Matcher stream =
        Pattern.compile(
                "stream scoring +([\\d,]+) predictions \\+ ([\\d,]+) unscorable for ([\\d,]+) valid")
            .matcher(out);
    assertThat(stream.find()).isTrue();
    long scored = Long.parseLong(stream.group(1).replace(",", ""));
    long unscorable = Long.parseLong(stream.group(2).replace(",", ""));
    long valid = Long.parseLong(stream.group(3).replace(",", ""));
    assertThat(scored + unscorable).isEqualTo(valid);
    assertThat(out).containsPattern("hot swap .* 0 failed");
    // Every stream prediction logged its inputs and was compared with its training row.
    Matcher consistency =
        Pattern.compile(
                "online/offline consistency: ([\\d,]+) of ([\\d,]+) stream predictions identical")
            .matcher(out);
    assertThat(consistency.find()).as(out).isTrue();
    assertThat(Long.parseLong(consistency.group(2).replace(",", ""))).isEqualTo(scored);
    // The log-order rule: every one of them is its event's training row, scores included.
    assertThat(consistency.group(1)).isEqualTo(consistency.group(2));
    assertThat(out)
        .contains(
            "scores: "
                + consistency.group(2)
                + " of "
                + consistency.group(2)
                + " recomputed from the training rows bit-identical");
    // Every gRPC prediction logged its inputs and its log position, and was compared with a
    // replay there (no ETL here: the store is empty, and a replay at no position gives defaults).
    Matcher grpc =
        Pattern.compile(
                "gRPC consistency +([\\d,]+) of ([\\d,]+) gRPC predictions identical to a replay")
            .matcher(out);
    assertThat(grpc.find()).as(out).isTrue();
    assertThat(Long.parseLong(grpc.group(2).replace(",", ""))).isPositive();
    assertThat(grpc.group(1)).isEqualTo(grpc.group(2));
    assertThat(out).containsPattern("gRPC freshness +features behind the log: p50 [\\d,]+ ms");
    Matcher auc =
        Pattern.compile("AUC on held-out events +v1 ([\\d.]+), v2 ([\\d.]+)").matcher(out);
    assertThat(auc.find()).isTrue();
    // Fraud bursts are learnable from the features: both models beat chance clearly.
    assertThat(Double.parseDouble(auc.group(1))).isGreaterThan(0.6);
    assertThat(Double.parseDouble(auc.group(2))).isGreaterThan(0.6);
  }
}
