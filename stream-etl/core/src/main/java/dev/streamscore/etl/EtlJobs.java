package dev.streamscore.etl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** What every engine's job main does the same way: choosing its sources, reading its spec. */
public final class EtlJobs {
  private EtlJobs() {}

  /** A spec's text and where it came from, for error messages. */
  public record SpecText(String yaml, String origin) {
    /** The spec parsed. */
    public FeatureSpec parse() {
      return FeatureSpec.parse(yaml, origin);
    }
  }

  /**
   * The spec file's text, or the built-in payments spec's.
   *
   * @throws IllegalArgumentException naming the file when it cannot be read
   */
  public static SpecText spec(Optional<Path> file) {
    if (file.isEmpty()) {
      return new SpecText(FeatureSpec.shippedPaymentsYaml(), "built-in payments.yaml");
    }
    try {
      return new SpecText(
          Files.readString(file.get(), StandardCharsets.UTF_8), file.get().toString());
    } catch (IOException e) {
      throw new IllegalArgumentException(
          file.get() + ": cannot read the spec: " + e.getMessage(), e);
    }
  }

  /**
   * The sources a job processes: those requested, or every source with views.
   *
   * @throws IllegalArgumentException naming a source the spec does not declare or that has no
   *     views, or when there is nothing to compute
   */
  public static List<String> sources(FeatureSpec spec, List<String> requested) {
    List<String> chosen =
        requested.isEmpty()
            ? spec.sources().keySet().stream().filter(s -> !spec.viewsOf(s).isEmpty()).toList()
            : requested;
    for (String s : chosen) {
      if (spec.source(s).isEmpty()) {
        throw new IllegalArgumentException(
            "the spec declares no source '"
                + s
                + "' (declared: "
                + String.join(", ", spec.sources().keySet())
                + ")");
      }
      if (spec.viewsOf(s).isEmpty()) {
        throw new IllegalArgumentException("source '" + s + "' has no views; nothing to compute");
      }
    }
    if (chosen.isEmpty()) {
      throw new IllegalArgumentException("the spec declares no views; nothing to compute");
    }
    return chosen;
  }

  /**
   * Calls {@code gone} once the process {@code pid} (the platform that launched the job) has
   * exited, so that a killed platform leaves no orphaned job behind.
   *
   * @return false when that process is gone already
   */
  public static boolean onParentExit(long pid, Runnable gone) {
    Optional<ProcessHandle> parent = ProcessHandle.of(pid);
    if (parent.isEmpty() || !parent.get().isAlive()) {
      return false;
    }
    parent.get().onExit().thenRun(gone);
    return true;
  }
}
