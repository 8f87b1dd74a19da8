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

  /** How often a running job prints its counts for the platform that launched it. */
  public static final java.time.Duration COUNTS_EVERY = java.time.Duration.ofSeconds(5);

  /**
   * Counts as a job prints them, in name order: {@code events=12 rejected.DUPLICATE=1 rows=9}.
   * After {@code counts } every {@link #COUNTS_EVERY} while it runs, after {@code done } when a
   * bounded job ends.
   */
  /**
   * The count that is not a count: when the job's newest checkpoint (Flink) or committed batch
   * (Spark) completed, ms since the epoch.
   */
  public static final String CHECKPOINT_COMPLETED_AT = "checkpoint.completed_at_ms";

  public static String counts(java.util.Map<String, ? extends Number> counts) {
    StringBuilder line = new StringBuilder();
    new java.util.TreeMap<>(counts)
        .forEach(
            (name, n) -> line.append(line.isEmpty() ? "" : " ").append(name).append('=').append(n));
    return line.toString();
  }

  /** What {@link #counts} printed; a part that is not {@code name=integer} is left out. */
  public static java.util.Map<String, Long> parseCounts(String line) {
    java.util.Map<String, Long> out = new java.util.TreeMap<>();
    for (String part : line.trim().split("\\s+")) {
      int eq = part.indexOf('=');
      if (eq > 0) {
        try {
          out.put(part.substring(0, eq), Long.parseLong(part.substring(eq + 1)));
        } catch (NumberFormatException e) {
          // not a count
        }
      }
    }
    return out;
  }

  /**
   * Prints {@code counts …} to standard output every {@link #COUNTS_EVERY} on a daemon thread, for
   * the launcher (which reads the job's output) to show on its {@code /metrics}.
   *
   * @param counts the job's counts now; empty when they cannot be read this time
   */
  public static void printCounts(
      java.util.function.Supplier<Optional<java.util.Map<String, ? extends Number>>> counts) {
    Thread printer =
        new Thread(
            () -> {
              while (true) {
                try {
                  Thread.sleep(COUNTS_EVERY.toMillis()); // a period, not a wait for anything
                } catch (InterruptedException e) {
                  return;
                }
                counts.get().ifPresent(c -> System.out.println("counts " + counts(c)));
              }
            },
            "etl-counts");
    printer.setDaemon(true);
    printer.start();
  }

  /**
   * Exits with status 3 once the process {@code pid} (the platform that launched the job) is gone,
   * so that a killed platform leaves no orphaned job behind; at once when it is gone already.
   * Exiting runs the job's shutdown hook, which stops it and keeps its last checkpoint.
   *
   * @param warn told why the job stops
   */
  public static void exitWithParent(
      long pid, String job, java.util.function.Consumer<String> warn) {
    Optional<ProcessHandle> parent = ProcessHandle.of(pid);
    if (parent.isEmpty() || !parent.get().isAlive()) {
      System.err.println(job + ": the parent process " + pid + " is gone");
      System.exit(3);
    }
    parent
        .get()
        .onExit()
        .thenRun(
            () -> {
              warn.accept("the platform (pid " + pid + ") is gone; stopping");
              System.exit(3);
            });
  }

  /**
   * A job's command line as option to value, in order; a flag (an option without a value) maps to
   * the empty string. What each option means is the caller's to decide.
   *
   * @param flags the options that take no value
   * @throws IllegalArgumentException when an option other than a flag has no value
   */
  public static java.util.Map<String, String> options(
      String[] args, java.util.Set<String> flags, String usage) {
    java.util.Map<String, String> options = new java.util.LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String name = args[i];
      if (flags.contains(name)) {
        options.put(name, "");
      } else if (i + 1 >= args.length) {
        throw new IllegalArgumentException(name + " needs a value; " + usage);
      } else {
        options.put(name, args[++i]);
      }
    }
    return options;
  }

  /**
   * Whether an option that takes one of two values names the first.
   *
   * @throws IllegalArgumentException naming the option, both choices and the value
   */
  public static boolean either(String option, String value, String first, String second) {
    if (!value.equals(first) && !value.equals(second)) {
      throw new IllegalArgumentException(
          option + " must be " + first + " or " + second + ", got '" + value + "'");
    }
    return value.equals(first);
  }

  /**
   * A command-line option's value as a positive whole number.
   *
   * @throws IllegalArgumentException naming the option and the value
   */
  public static long positive(String option, String value) {
    try {
      long v = Long.parseLong(value);
      if (v > 0) {
        return v;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(
        option + " must be a positive whole number, got '" + value + "'");
  }
}
