package dev.streamscore.scoring.monitor;

/** Whether a monitored column is one of a model's inputs or one of its outputs (scores). */
public enum Role {
  INPUT,
  OUTPUT;

  /** As a metric label: {@code input} or {@code output}. */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
