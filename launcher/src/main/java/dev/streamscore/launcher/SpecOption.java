package dev.streamscore.launcher;

import dev.streamscore.etl.FeatureSpec;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/** {@code --spec}: the feature-definition spec a command works with. */
final class SpecOption {
  @Option(
      names = "--spec",
      paramLabel = "FILE",
      description = "The feature-definition spec (YAML) (default: the shipped payments spec).")
  Path specFile;

  Optional<Path> specFile() {
    return Optional.ofNullable(specFile);
  }

  /** The spec given, or the shipped one; an invalid one stops start-up in one line. */
  FeatureSpec spec() {
    return Platform.loadSpec(specFile());
  }
}
