package dev.streamscore.launcher;

import java.time.Instant;
import picocli.CommandLine.Option;

/** Which events become training rows: shared by {@code train} and {@code training-data}. */
final class RowsOption {
  @Option(
      names = "--source",
      defaultValue = "payments",
      description = "The source whose events are the rows (default: ${DEFAULT-VALUE}).")
  String source;

  @Option(
      names = "--label",
      defaultValue = "is_fraud",
      description = "The boolean event field that is the label (default: ${DEFAULT-VALUE}).")
  String label;

  @Option(
      names = "--from",
      paramLabel = "TIME",
      description = "Rows from this event time on (ISO-8601; default: the log's start).")
  Instant from;

  @Option(
      names = "--to",
      paramLabel = "TIME",
      description = "Rows before this event time (ISO-8601; default: the log's end).")
  Instant to;
}
