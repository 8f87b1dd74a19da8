package dev.streamscore.launcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;

/**
 * The bytes of a training-data file: ids, event time, the inputs in model order and the label, as
 * CSV or as Parquet. Both are a function of the rows alone (no clock, no host), which is what lets
 * a manifest's sha256 prove a re-cut identical.
 *
 * <p>Parquet is written uncompressed: parquet-hadoop's codecs load Hadoop's XML configuration
 * machinery, which the launcher does not carry (it has Hadoop's client API only).
 */
final class TrainingFile {
  /** One row: who, when, the model's inputs, the label. */
  record Row(String eventId, String entityId, long eventTimeMs, double[] x, boolean label) {}

  private TrainingFile() {}

  /** The format {@code file}'s name asks for: "csv" or "parquet". */
  static String formatOf(Path file) {
    String name = file.getFileName().toString();
    if (name.endsWith(".csv")) {
      return "csv";
    }
    if (name.endsWith(".parquet")) {
      return "parquet";
    }
    throw new IllegalArgumentException("--out must name a .csv or .parquet file, got " + file);
  }

  /**
   * @param columns event_id, entity_id, event_time_ms, one per input, the label
   */
  static byte[] encode(String format, List<String> columns, List<Row> rows, Path scratch)
      throws IOException {
    return format.equals("parquet") ? parquet(columns, rows, scratch) : csv(columns, rows);
  }

  static byte[] csv(List<String> columns, List<Row> rows) {
    StringBuilder out = new StringBuilder(String.join(",", columns)).append('\n');
    for (Row r : rows) {
      out.append(cell(r.eventId())).append(',').append(cell(r.entityId())).append(',');
      out.append(r.eventTimeMs());
      for (double x : r.x()) {
        out.append(',').append(x);
      }
      out.append(',').append(r.label() ? 1 : 0).append('\n');
    }
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** A CSV cell: quoted when it holds a comma, a quote or a line break. */
  static String cell(String text) {
    if (text.chars().noneMatch(c -> c == ',' || c == '"' || c == '\n' || c == '\r')) {
      return text;
    }
    return '"' + text.replace("\"", "\"\"") + '"';
  }

  /** Written through parquet-hadoop to {@code scratch} (replaced), then read back whole. */
  static byte[] parquet(List<String> columns, List<Row> rows, Path scratch) throws IOException {
    int inputs = columns.size() - 4;
    Types.MessageTypeBuilder b = Types.buildMessage();
    b.required(PrimitiveTypeName.BINARY)
        .as(LogicalTypeAnnotation.stringType())
        .named(columns.get(0));
    b.required(PrimitiveTypeName.BINARY)
        .as(LogicalTypeAnnotation.stringType())
        .named(columns.get(1));
    b.required(PrimitiveTypeName.INT64).named(columns.get(2));
    for (int i = 0; i < inputs; i++) {
      b.required(PrimitiveTypeName.DOUBLE).named(columns.get(3 + i));
    }
    b.required(PrimitiveTypeName.INT32).named(columns.get(columns.size() - 1));
    MessageType schema = b.named("training_rows");
    SimpleGroupFactory groups = new SimpleGroupFactory(schema);
    Files.deleteIfExists(scratch);
    try {
      try (ParquetWriter<Group> writer =
          ExampleParquetWriter.builder(new LocalOutputFile(scratch))
              .withConf(new PlainParquetConfiguration())
              .withType(schema)
              .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
              .withCompressionCodec(CompressionCodecName.UNCOMPRESSED)
              .build()) {
        for (Row r : rows) {
          Group g = groups.newGroup();
          g.append(columns.get(0), r.eventId());
          g.append(columns.get(1), r.entityId());
          g.append(columns.get(2), r.eventTimeMs());
          for (int i = 0; i < inputs; i++) {
            g.append(columns.get(3 + i), r.x()[i]);
          }
          g.append(columns.get(columns.size() - 1), r.label() ? 1 : 0);
          writer.write(g);
        }
      }
      return Files.readAllBytes(scratch);
    } finally {
      Files.deleteIfExists(scratch);
    }
  }
}
