package dev.streamscore.launcher;

import dev.streamscore.proto.PartitionSet;
import java.util.Optional;
import picocli.CommandLine.Option;

/** {@code --partitions}: a replica of only some partitions of the feature topics. */
final class PartitionsOption {
  @Option(
      names = "--partitions",
      paramLabel = "P[,P|P-Q...]",
      description =
          "Hold and answer for only these partitions of the feature topics (as in 0,1 or 0-3);"
              + " requests for other entities get FAILED_PRECONDITION naming their partition."
              + " Default: all.")
  String partitions;

  /** The partitions named, or empty for all. */
  Optional<PartitionSet> held() {
    if (partitions == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(PartitionSet.parse(partitions));
    } catch (IllegalArgumentException e) {
      throw new StartupException("--partitions: " + e.getMessage());
    }
  }
}
