package dev.streamscore.launcher.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;

/**
 * What a cluster's directory remembers of how it was made ({@code cluster.properties}): its base
 * port, ETL engine and spec, so that later commands need only the directory.
 */
final class Settings {
  private static final String FILE = "cluster.properties";

  private final Path file;
  private final Properties saved = new Properties();

  private Settings(Path file) {
    this.file = file;
  }

  /** The settings kept in {@code dir}; none when it has none yet. */
  static Settings of(Path dir) {
    Settings settings = new Settings(dir.resolve(FILE));
    if (Files.isRegularFile(settings.file)) {
      try (var in = Files.newBufferedReader(settings.file, StandardCharsets.UTF_8)) {
        settings.saved.load(in);
      } catch (IOException e) {
        throw new ClusterException("cannot read " + settings.file + ": " + e.getMessage(), e);
      }
    }
    return settings;
  }

  /**
   * The value kept for {@code key}, else {@code asked}, else {@code fallback}; kept from now on.
   *
   * @throws ClusterException when {@code asked} differs from the value kept
   */
  String remembered(String key, Optional<String> asked, String fallback) {
    String previous = saved.getProperty(key);
    if (previous != null && asked.isPresent() && !asked.get().equals(previous)) {
      throw new ClusterException(
          "the cluster in "
              + file.getParent()
              + " was made with "
              + key
              + " "
              + (previous.isEmpty() ? "(none)" : previous)
              + "; run down and remove the directory to change it");
    }
    String value = previous != null ? previous : asked.orElse(fallback);
    saved.setProperty(key, value);
    return value;
  }

  /** Replaces the value kept for {@code key} (an upgrade's new spec). */
  void set(String key, String value) {
    saved.setProperty(key, value);
  }

  /** Writes the settings to the directory. */
  void store() {
    try {
      Files.createDirectories(file.getParent());
      try (var out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
        saved.store(out, "streamscore local cluster");
      }
    } catch (IOException e) {
      throw new ClusterException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }
}
