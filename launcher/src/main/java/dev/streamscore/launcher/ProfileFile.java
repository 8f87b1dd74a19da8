package dev.streamscore.launcher;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.streamscore.modelsync.Profiles;
import dev.streamscore.proto.v1.ReferenceProfile;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A reference profile given to {@code models register --profile FILE}: either the profile itself as
 * protobuf JSON ({@code .json}), or rows to build it from ({@code .csv}): a header naming every
 * input and output, then one row per training (or validation) example with the model's scores. An
 * empty input cell is a missing value: the input's default, counted as defaulted.
 */
final class ProfileFile {
  /** A larger file is refused: a profile needs thousands of rows, not billions. */
  static final long MAX_BYTES = 1L << 30;

  private ProfileFile() {}

  /**
   * Reads {@code file} for a model of these inputs (with their defaults) and outputs.
   *
   * @throws StartupException naming the file, the line and the column of the first problem
   */
  static ReferenceProfile read(
      Path file, List<String> inputs, Map<String, Double> defaults, List<String> outputs) {
    try {
      if (!Files.isRegularFile(file)) {
        throw new StartupException("no profile file at " + file);
      }
      if (Files.size(file) > MAX_BYTES) {
        throw new StartupException(file + " is over " + (MAX_BYTES >> 20) + " MiB");
      }
      String name = file.getFileName().toString();
      if (name.endsWith(".json")) {
        return json(file);
      }
      if (name.endsWith(".csv")) {
        return csv(file, inputs, defaults, outputs);
      }
      throw new StartupException(
          file + ": a profile is a .json ReferenceProfile or a .csv of rows");
    } catch (CharacterCodingException e) {
      throw new StartupException(file + " is not UTF-8 text");
    } catch (IOException e) {
      throw new StartupException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  private static ReferenceProfile json(Path file) throws IOException {
    ReferenceProfile.Builder profile = ReferenceProfile.newBuilder();
    try {
      JsonFormat.parser().merge(utf8(file), profile);
    } catch (InvalidProtocolBufferException e) {
      throw new StartupException(file + " is not a ReferenceProfile in JSON: " + e.getMessage());
    }
    return profile.build();
  }

  private static String utf8(Path file) throws IOException {
    return StandardCharsets.UTF_8
        .newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT)
        .decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file)))
        .toString();
  }

  private static ReferenceProfile csv(
      Path file, List<String> inputs, Map<String, Double> defaults, List<String> outputs)
      throws IOException {
    List<String> wanted = new ArrayList<>(inputs);
    wanted.addAll(outputs);
    List<List<Double>> values = new ArrayList<>();
    List<List<Boolean>> defaulted = new ArrayList<>();
    wanted.forEach(
        w -> {
          values.add(new ArrayList<>());
          defaulted.add(new ArrayList<>());
        });
    int[] at; // position of each wanted column in the file
    try (BufferedReader in =
        new BufferedReader(
            new java.io.InputStreamReader(
                Files.newInputStream(file),
                StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)))) {
      String header = in.readLine();
      if (header == null) {
        throw new StartupException(file + " is empty; its first line names the columns");
      }
      at = columns(file, header, wanted);
      String line;
      int number = 1;
      while ((line = in.readLine()) != null) {
        number++;
        if (line.isBlank()) {
          continue;
        }
        String[] cells = line.split(",", -1);
        if (cells.length != header.split(",", -1).length) {
          throw new StartupException(
              file
                  + " line "
                  + number
                  + " has "
                  + cells.length
                  + " cells; the header has more or fewer");
        }
        for (int c = 0; c < wanted.size(); c++) {
          String cell = cells[at[c]].strip();
          String column = wanted.get(c);
          boolean input = c < inputs.size();
          if (cell.isEmpty()) {
            if (!input) {
              throw new StartupException(
                  file + " line " + number + ": output '" + column + "' is empty");
            }
            values.get(c).add(defaults.getOrDefault(column, 0.0));
            defaulted.get(c).add(true);
            continue;
          }
          try {
            double v = Double.parseDouble(cell);
            if (!Double.isFinite(v)) {
              throw new NumberFormatException(); // NaN, Infinity, or beyond a double's range
            }
            values.get(c).add(v);
          } catch (NumberFormatException e) {
            throw new StartupException(
                file
                    + " line "
                    + number
                    + " column '"
                    + column
                    + "': '"
                    + cell
                    + "' is not a finite number");
          }
          defaulted.get(c).add(false);
        }
      }
    }
    if (values.get(0).isEmpty()) {
      throw new StartupException(file + " has a header and no rows");
    }
    ReferenceProfile.Builder profile =
        ReferenceProfile.newBuilder()
            .setSource(file.getFileName() + ": " + values.get(0).size() + " rows");
    for (int c = 0; c < wanted.size(); c++) {
      double[] v = values.get(c).stream().mapToDouble(Double::doubleValue).toArray();
      boolean[] d = new boolean[v.length];
      for (int r = 0; r < d.length; r++) {
        d[r] = defaulted.get(c).get(r);
      }
      if (c < inputs.size()) {
        profile.addInputs(Profiles.distribution(wanted.get(c), v, d));
      } else {
        profile.addOutputs(Profiles.distribution(wanted.get(c), v, null));
      }
    }
    return profile.build();
  }

  private static int[] columns(Path file, String header, List<String> wanted) {
    Map<String, Integer> positions = new HashMap<>();
    String[] names = header.split(",", -1);
    for (int i = 0; i < names.length; i++) {
      String n = names[i].strip();
      if (!wanted.contains(n)) {
        throw new StartupException(
            file + ": column '" + n + "' is neither an input nor an output of the model");
      }
      if (positions.put(n, i) != null) {
        throw new StartupException(file + ": column '" + n + "' appears twice");
      }
    }
    int[] at = new int[wanted.size()];
    for (int c = 0; c < wanted.size(); c++) {
      Integer p = positions.get(wanted.get(c));
      if (p == null) {
        throw new StartupException(file + ": no column '" + wanted.get(c) + "'");
      }
      at[c] = p;
    }
    return at;
  }
}
