package dev.streamscore.launcher;

import dev.streamscore.etl.FeatureSpec;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Options of the commands that keep state and serve the spec's features: where, and what. */
final class StateOptions {
  @Option(
      names = "--data-dir",
      paramLabel = "DIR",
      description =
          "Keep state here across restarts, resuming where it stopped (default: a temporary"
              + " directory, deleted on exit).")
  Path dataDir;

  @Mixin SpecOption spec;

  Optional<Path> dataDir() {
    return Optional.ofNullable(dataDir);
  }

  Optional<Path> specFile() {
    return spec.specFile();
  }

  /** The spec given, or the shipped one; an invalid one stops start-up in one line. */
  FeatureSpec spec() {
    return spec.spec();
  }
}
