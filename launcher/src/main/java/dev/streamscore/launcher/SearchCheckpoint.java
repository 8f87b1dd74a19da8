package dev.streamscore.launcher;

import dev.streamscore.proto.v1.PartitionRange;
import dev.streamscore.scoring.monitor.Quality;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * An unfinished search of {@code streamscore train}: the settings it ran with, the offsets it read
 * and the trials it finished, rewritten after each trial, so that {@code train --resume} reads the
 * same rows and tries only what is left. The search is deterministic for its seed: the trials done
 * again would give the same figures.
 *
 * @param settings the command's options by name ({@code algorithm}, {@code space}, ...)
 * @param trials the finished trials, in the search's order (their models are gone)
 */
record SearchCheckpoint(
    Map<String, String> settings, List<PartitionRange> ranges, List<Search.Trial> trials) {
  SearchCheckpoint {
    settings = Map.copyOf(settings);
    ranges = List.copyOf(ranges);
    trials = List.copyOf(trials);
  }

  /** The file of {@code model}'s unfinished search in {@code dir}. */
  static Path file(Path dir, String model) {
    return dir.resolve(model + ".search");
  }

  SearchCheckpoint with(Search.Trial trial) {
    List<Search.Trial> more = new ArrayList<>(trials);
    more.add(trial);
    return new SearchCheckpoint(settings, ranges, more);
  }

  /** Writes the checkpoint whole or not at all (a temporary file moved into place). */
  void write(Path file) throws IOException {
    Properties p = new Properties();
    settings.forEach((k, v) -> p.setProperty("setting." + k, v));
    StringBuilder r = new StringBuilder();
    for (PartitionRange range : ranges) {
      r.append(r.isEmpty() ? "" : ",")
          .append(range.getPartition())
          .append(':')
          .append(range.getFromOffset())
          .append(':')
          .append(range.getToOffset());
    }
    p.setProperty("ranges", r.toString());
    p.setProperty("trials", Integer.toString(trials.size()));
    for (int i = 0; i < trials.size(); i++) {
      Search.Trial t = trials.get(i);
      String at = "trial." + i + ".";
      t.parameters().forEach((k, v) -> p.setProperty(at + "parameter." + k, v));
      p.setProperty(at + "order", String.join(",", t.parameters().keySet()));
      p.setProperty(at + "epochs", Integer.toString(t.epochs()));
      p.setProperty(at + "auc", Double.toString(t.validation().auc()));
      p.setProperty(at + "log_loss", Double.toString(t.validation().logLoss()));
      p.setProperty(at + "labelled", Long.toString(t.validation().labelled()));
      p.setProperty(at + "positives", Long.toString(t.validation().positives()));
    }
    Files.createDirectories(file.getParent());
    Path temp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
    try (Writer w = Files.newBufferedWriter(temp, StandardCharsets.UTF_8)) {
      p.store(w, "streamscore train: an unfinished search; resume with train --resume");
    }
    Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * The checkpoint in {@code file}, or empty when there is none.
   *
   * @throws IllegalArgumentException in one line when the file cannot be read as one
   */
  static Optional<SearchCheckpoint> read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    Properties p = new Properties();
    try {
      try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        p.load(r);
      }
      Map<String, String> settings = new LinkedHashMap<>();
      for (String name : p.stringPropertyNames()) {
        if (name.startsWith("setting.")) {
          settings.put(name.substring("setting.".length()), p.getProperty(name));
        }
      }
      List<PartitionRange> ranges = new ArrayList<>();
      for (String range : p.getProperty("ranges", "").split(",")) {
        if (range.isEmpty()) {
          continue;
        }
        String[] f = range.split(":");
        ranges.add(
            PartitionRange.newBuilder()
                .setPartition(Integer.parseInt(f[0]))
                .setFromOffset(Long.parseLong(f[1]))
                .setToOffset(Long.parseLong(f[2]))
                .build());
      }
      List<Search.Trial> trials = new ArrayList<>();
      int n = Integer.parseInt(p.getProperty("trials"));
      for (int i = 0; i < n; i++) {
        String at = "trial." + i + ".";
        Map<String, String> parameters = new LinkedHashMap<>();
        for (String name : p.getProperty(at + "order").split(",")) {
          parameters.put(name, required(p, at + "parameter." + name));
        }
        Quality validation =
            new Quality(
                Long.parseLong(required(p, at + "labelled")),
                Long.parseLong(required(p, at + "positives")),
                Double.parseDouble(required(p, at + "auc")),
                Double.parseDouble(required(p, at + "log_loss")),
                Double.NaN,
                Double.NaN,
                Double.NaN,
                new long[0],
                new double[0],
                new double[0]);
        trials.add(
            new Search.Trial(
                parameters, Integer.parseInt(required(p, at + "epochs")), validation, null));
      }
      return Optional.of(new SearchCheckpoint(settings, ranges, trials));
    } catch (RuntimeException | java.nio.charset.CharacterCodingException e) {
      throw new IllegalArgumentException(
          file + " is not a search checkpoint (" + e.getMessage() + "); delete it to start afresh");
    }
  }

  private static String required(Properties p, String name) {
    String v = p.getProperty(name);
    if (v == null) {
      throw new IllegalArgumentException("no " + name);
    }
    return v;
  }
}
