package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamscore.modelsync.RegistryServer;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.ServerTransport;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code streamscore registry} as a process, driven by the {@code streamscore models} verbs. */
class ModelsCommandIT {
  private static final String INPUTS = "user_txn:txn_count_10m,user_txn:amount_sum_1h,amount";
  private final Launcher launcher = new Launcher();
  @TempDir Path dir;

  @AfterEach
  void killLeftovers() {
    launcher.killAll();
  }

  private static CliRun run(String... args) {
    return CliRun.of(args);
  }

  private static CliRun models(String registry, String... args) {
    List<String> all = new ArrayList<>(List.of("models"));
    all.add(args[0]);
    all.addAll(List.of("--registry", registry));
    all.addAll(List.of(args).subList(1, args.length));
    return run(all.toArray(String[]::new));
  }

  @Test
  void registersPromotesCanariesAndRollsBackThroughTheStandaloneRegistry() throws Exception {
    Path v1 = TestModels.logisticRegression(dir.resolve("v1.onnx"), 3, 1);
    Path v2 = TestModels.logisticRegression(dir.resolve("v2.onnx"), 3, 2);
    Path data = dir.resolve("data");
    Launcher.Running registry =
        launcher.start("registry", "--port", "0", "--data-dir", data.toString());
    registry.awaitLine("ready", Duration.ofSeconds(60));
    String address = registry.endpoint("registry").orElseThrow();

    CliRun r1 =
        models(
            address,
            "register",
            v1.toString(),
            "--name",
            "fraud",
            "--inputs",
            INPUTS,
            "--outputs",
            "p0,p1",
            "--metric",
            "auc=0.81",
            "--default",
            "amount=12.5");
    assertThat(r1.code()).as(r1.err()).isZero();
    assertThat(r1.out()).startsWith("registered fraud version 1 (");
    assertThat(
            models(
                    address,
                    "register",
                    v2.toString(),
                    "--name",
                    "fraud",
                    "--inputs",
                    INPUTS,
                    "--outputs",
                    "p0,p1")
                .out())
        .startsWith("registered fraud version 2 (");

    java.time.Instant beforePromote = java.time.Instant.now();
    assertThat(models(address, "promote", "fraud", "1").out())
        .isEqualTo("fraud/prod -> v1 (revision 3)\n");
    java.time.Instant afterPromote = java.time.Instant.now();
    assertThat(
            models(address, "promote", "fraud", "2", "--weight", "10", "--reason", "canary").out())
        .isEqualTo("fraud/prod -> v1 90%, v2 10% (revision 4)\n");
    assertThat(models(address, "list").out()).contains("fraud").contains("prod=v1 90%, v2 10%");
    String shown = models(address, "show", "fraud").out();
    assertThat(shown)
        .contains("v1  ")
        .contains("signed Ed25519 key ")
        .contains("inputs [user_txn:txn_count_10m, user_txn:amount_sum_1h, amount]")
        .contains("metrics {auc=0.81}")
        .contains("alias prod -> v1 90%, v2 10% (revision 4");
    assertThat(models(address, "rollback", "fraud", "--reason", "latency").out())
        .isEqualTo("fraud/prod rolled back to v1 (revision 5)\n");
    assertThat(models(address, "history", "fraud").out().lines().toList())
        .hasSize(3)
        .satisfies(
            lines -> {
              assertThat(lines.get(0))
                  .contains("v1 90%, v2 10% -> v1")
                  .contains("(rollback: latency)");
              assertThat(lines.get(1)).contains("v1 -> v1 90%, v2 10%").contains("(canary)");
              assertThat(lines.get(2)).contains("(new) -> v1").contains("(promote)");
            });

    // What the alias served at a past time, from the history.
    assertThat(models(address, "history", "fraud", "--at", beforePromote.toString()).out())
        .isEqualTo("fraud/prod at " + beforePromote + ": nothing yet (the alias came later)\n");
    assertThat(models(address, "history", "fraud", "--at", afterPromote.toString()).out())
        .startsWith("fraud/prod at " + afterPromote + ": v1, since revision 3 (");
    assertThat(
            models(address, "history", "fraud", "--at", java.time.Instant.now().toString()).out())
        .contains(": v1, since revision 5 (");

    CliRun missing = models(address, "promote", "fraud", "9");
    assertThat(missing.code()).isEqualTo(1);
    assertThat(missing.err())
        .isEqualTo(
            "streamscore: NOT_FOUND: policy.splits: model 'fraud' has versions 1..2, not 9\n");

    // The journal and artifacts are in the data directory: a restarted registry has it all.
    registry.process.destroy();
    assertThat(registry.awaitExit(Duration.ofSeconds(30))).isNotZero();
    Launcher.Running again =
        launcher.start("registry", "--port", "0", "--data-dir", data.toString());
    again.awaitLine("ready", Duration.ofSeconds(60));
    String address2 = again.endpoint("registry").orElseThrow();
    assertThat(models(address2, "list").out()).contains("prod=v1");
    assertThat(models(address2, "history", "fraud").out().lines()).hasSize(3);
  }

  @Test
  void writesWithoutTheTokenFailInOneLineAndReadsStillWork() throws Exception {
    Path v1 = TestModels.logisticRegression(dir.resolve("v1.onnx"), 3, 1);
    try (RegistryServer secured =
        RegistryServer.start(
            ServerTransport.loopback(0),
            dir.resolve("secured"),
            Optional.of("t0k3n"),
            Clock.systemUTC())) {
      CliRun refused =
          models(
              secured.address(), "register", v1.toString(), "--name", "fraud", "--inputs", INPUTS);
      assertThat(refused.code()).isEqualTo(1);
      assertThat(refused.err())
          .startsWith(
              "streamscore: UNAUTHENTICATED: Register needs the publisher role: send"
                  + " 'authorization: Bearer <token>' or a client certificate")
          .hasLineCount(1);
      CliRun list = models(secured.address(), "list");
      assertThat(list.code()).isZero();
      assertThat(list.out().lines()).hasSize(1); // the header only
    }
  }
}
