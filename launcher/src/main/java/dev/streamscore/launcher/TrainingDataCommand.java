package dev.streamscore.launcher;

import com.google.protobuf.util.JsonFormat;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.proto.v1.DataLineage;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.TrainingDataManifest;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code streamscore training-data}: the point-in-time rows {@code train} learns from, as a CSV or
 * Parquet file for other tools (pandas, XGBoost), with a manifest beside it ({@code
 * FILE.manifest.json}) from which the same file can be cut again, byte for byte, while Kafka still
 * holds its offsets.
 */
@Command(
    name = "training-data",
    mixinStandardHelpOptions = true,
    description = {
      "Writes the point-in-time training rows of the events log to a CSV or Parquet file.",
      "From FILE.manifest.json, --from-manifest cuts the same file again, byte for byte."
    })
final class TrainingDataCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec command;
  @Mixin KafkaOption kafka;
  @Mixin SpecOption specOption;
  @Mixin RowsOption selection;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "FILE",
      description = "The file: FILE.csv, or FILE.parquet (uncompressed Parquet).")
  Path out;

  @Option(
      names = "--from-manifest",
      paramLabel = "FILE",
      description = "Cuts the file a manifest describes again (its offsets, range and label).")
  Path manifest;

  @Override
  public Integer call() throws Exception {
    PrintWriter err = command.commandLine().getErr();
    String format;
    try {
      format = TrainingFile.formatOf(out);
    } catch (IllegalArgumentException e) {
      err.println("streamscore: " + e.getMessage());
      return 2;
    }
    FeatureSpec spec = specOption.spec();
    TrainingDataManifest wanted = null;
    String topic = TopicNames.events(selection.source);
    String labelField = selection.label;
    Instant fromTime = selection.from;
    Instant toTime = selection.to;
    if (manifest != null) {
      TrainingDataManifest.Builder m = TrainingDataManifest.newBuilder();
      try {
        JsonFormat.parser().merge(Files.readString(manifest, StandardCharsets.UTF_8), m);
      } catch (IOException e) {
        err.println("streamscore: cannot read the manifest " + manifest + ": " + e.getMessage());
        return 2;
      }
      wanted = m.build();
      if (!wanted.getFormat().isEmpty() && !wanted.getFormat().equals(format)) {
        err.printf(
            "streamscore: the manifest describes a %s file; --out names a %s one%n",
            wanted.getFormat(), format);
        return 2;
      }
      DataLineage l = wanted.getLineage();
      topic = l.getTopic();
      labelField = l.getLabel().substring(l.getLabel().indexOf('.') + 1);
      fromTime = Instant.ofEpochMilli(l.getFromTimeMs());
      toTime = Instant.ofEpochMilli(l.getToTimeMs());
    }
    EventsCut cut;
    List<Integer> chosen;
    try {
      cut =
          EventsCut.read(
              kafka.bootstrap, topic, wanted == null ? null : wanted.getLineage().getRangesList());
      chosen = TrainCommand.inRange(cut.log(), topic, labelField, fromTime, toTime);
    } catch (IllegalArgumentException | org.apache.kafka.common.KafkaException e) {
      err.println("streamscore: " + e.getMessage());
      return 1;
    }
    List<Trainer.Row> rows = TrainingSet.rows(spec, cut.log(), 0, cut.log().size(), labelField);
    List<String> columns = new ArrayList<>(List.of("event_id", "entity_id", "event_time_ms"));
    columns.addAll(TrainingSet.inputNames());
    columns.add(labelField);
    long positives = 0;
    List<TrainingFile.Row> fileRows = new ArrayList<>(chosen.size());
    for (int i : chosen) {
      Event e = cut.log().get(i);
      Trainer.Row row = rows.get(i);
      fileRows.add(
          new TrainingFile.Row(
              e.getEventId(), e.getEntityId(), e.getEventTimeMs(), row.x(), row.fraud()));
      positives += row.fraud() ? 1 : 0;
    }
    byte[] bytes =
        TrainingFile.encode(
            format, columns, fileRows, out.resolveSibling("." + out.getFileName() + ".part"));
    String sha = HexFormat.of().formatHex(sha256(bytes));
    if (wanted != null && !wanted.getSha256().equals(sha)) {
      err.printf(
          "streamscore: the cut differs from the manifest's: sha256 %s, the manifest says %s%n",
          sha, wanted.getSha256());
      return 1;
    }
    Files.write(out, bytes);
    DataLineage lineage =
        DataLineage.newBuilder()
            .setTopic(topic)
            .addAllRanges(cut.ranges())
            .setFromTimeMs(fromTime == null ? 0 : fromTime.toEpochMilli())
            .setToTimeMs(toTime == null ? Long.MAX_VALUE : toTime.toEpochMilli())
            .setSpecFingerprint(TrainCommand.fingerprint(spec))
            .setLabel(topic.substring(topic.indexOf('.') + 1) + "." + labelField)
            .setRows(chosen.size())
            .setLabelRate((double) positives / chosen.size())
            .build();
    TrainingDataManifest written =
        TrainingDataManifest.newBuilder()
            .setLineage(lineage)
            .setFormat(format)
            .addAllColumns(columns)
            .setSha256(sha)
            .setSizeBytes(bytes.length)
            .setCodeVersion("streamscore " + Main.version())
            .build();
    Path manifestOut = out.resolveSibling(out.getFileName() + ".manifest.json");
    Files.writeString(manifestOut, JsonFormat.printer().print(written) + "\n");
    command
        .commandLine()
        .getOut()
        .printf(
            "%s: %,d rows (%,d positive), sha256 %s; manifest %s%n",
            out, chosen.size(), positives, sha, manifestOut);
    return 0;
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }
}
