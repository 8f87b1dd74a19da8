package dev.streamscore.launcher.cluster;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Our own roles, each its own {@code streamscore} process: the registry, the validators, the
 * scoring nodes (each a full feature replica, sharing stream scoring) and the gateways.
 */
final class Roles {
  static final String REGISTRY = "registry";

  /** The model and alias the scoring nodes score every event with, once it has a version. */
  static final String STREAM_SCORING = Drill.MODEL + ":prod";

  private final Layout layout;
  private final Path home;
  private final Optional<Path> spec;

  Roles(Layout layout, Path home, Optional<Path> spec) {
    this.layout = layout;
    this.home = home;
    this.spec = spec;
  }

  static String validatorName(int i) {
    return "validator-" + i;
  }

  static String scoringName(int i) {
    return "scoring-" + i;
  }

  static String gatewayName(int i) {
    return "gateway-" + i;
  }

  Member registry() {
    return role(
        REGISTRY,
        "256m",
        layout.registryPort(),
        List.of(
            "registry",
            "--port",
            Integer.toString(layout.registryPort()),
            "--data-dir",
            layout.data(REGISTRY).resolve("state").toString()),
        false);
  }

  Member validator(int i) {
    return role(
        validatorName(i),
        "384m",
        0,
        List.of(
            "validator",
            "--kafka",
            layout.bootstrap(),
            "--data-dir",
            layout.data(validatorName(i)).resolve("state").toString()),
        true);
  }

  Member scoringNode(int i) {
    return role(
        scoringName(i),
        "768m",
        layout.scoringPort(i),
        List.of(
            "scoring-node",
            "--kafka",
            layout.bootstrap(),
            "--registry",
            "127.0.0.1:" + layout.registryPort(),
            "--node-id",
            scoringName(i),
            // The registry (started first) made its key pair in its data directory.
            "--model-signing-key",
            layout.data(REGISTRY).resolve("state/registry/signing/ed25519.pub").toString(),
            "--port",
            Integer.toString(layout.scoringPort(i)),
            "--metrics-port",
            Integer.toString(layout.scoringMetricsPort(i)),
            "--stream-scoring",
            STREAM_SCORING,
            "--data-dir",
            layout.data(scoringName(i)).resolve("state").toString()),
        true);
  }

  Member gateway(int i) {
    return role(
        gatewayName(i),
        "256m",
        layout.gatewayPort(i),
        List.of(
            "gateway",
            "--kafka",
            layout.bootstrap(),
            "--port",
            Integer.toString(layout.gatewayPort(i))),
        true);
  }

  private Member role(String name, String heap, int port, List<String> args, boolean takesSpec) {
    Path jar = home.resolve("launcher/target/streamscore.jar");
    if (!jar.toFile().isFile()) {
      throw new ClusterException(
          jar + " is missing; build it: mvn -B -DskipTests -pl launcher -am package");
    }
    List<String> command = new ArrayList<>(Jvm.base(layout, name, heap));
    // DJL must not call out to the network when it starts.
    command.add("-DOPT_OUT_TRACKING=true");
    command.addAll(List.of("-jar", jar.toString()));
    command.addAll(args);
    if (takesSpec) {
      spec.ifPresent(s -> command.addAll(List.of("--spec", s.toAbsolutePath().toString())));
    }
    return new Member(name, command, Map.of("OPT_OUT_TRACKING", "true"), port, "ready");
  }
}
