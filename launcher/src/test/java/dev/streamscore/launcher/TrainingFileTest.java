package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.MessageType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingFileTest {
  private static final List<String> COLUMNS =
      List.of(
          "event_id", "entity_id", "event_time_ms", "user_txn:txn_count_1h", "amount", "is_fraud");

  @TempDir Path dir;

  private static List<TrainingFile.Row> rows() {
    List<TrainingFile.Row> rows = new ArrayList<>();
    rows.add(new TrainingFile.Row("e1", "u,1", 1L, new double[] {3, 12.5}, false));
    rows.add(new TrainingFile.Row("e\"2", "u2", Long.MAX_VALUE, new double[] {0, -0.0}, true));
    rows.add(
        new TrainingFile.Row(
            "é3", "u3", -1L, new double[] {Double.MAX_VALUE, Double.MIN_VALUE}, false));
    return rows;
  }

  @Test
  void parquetHoldsEveryValueAsWrittenAndTheSameRowsGiveTheSameBytes() throws Exception {
    byte[] once = TrainingFile.parquet(COLUMNS, rows(), dir.resolve(".a.part"));
    byte[] twice = TrainingFile.parquet(COLUMNS, rows(), dir.resolve(".b.part"));
    assertThat(twice).isEqualTo(once);
    assertThat(dir.resolve(".a.part")).doesNotExist();
    Path file = Files.write(dir.resolve("rows.parquet"), once);

    List<Group> read = new ArrayList<>();
    // Options from a plain configuration: the default ones would build Hadoop's.
    try (ParquetFileReader reader =
        ParquetFileReader.open(
            new LocalInputFile(file),
            ParquetReadOptions.builder(new PlainParquetConfiguration()).build())) {
      MessageType schema = reader.getFooter().getFileMetaData().getSchema();
      assertThat(schema.getFields())
          .extracting(f -> f.getName())
          .containsExactlyElementsOf(COLUMNS);
      assertThat(reader.getRecordCount()).isEqualTo(3);
      for (PageReadStore pages; (pages = reader.readNextRowGroup()) != null; ) {
        RecordReader<Group> records =
            new ColumnIOFactory()
                .getColumnIO(schema)
                .getRecordReader(pages, new GroupRecordConverter(schema));
        for (long i = 0; i < pages.getRowCount(); i++) {
          read.add(records.read());
        }
      }
    }
    assertThat(read).hasSize(3);
    List<TrainingFile.Row> expected = rows();
    for (int i = 0; i < 3; i++) {
      Group g = read.get(i);
      TrainingFile.Row r = expected.get(i);
      assertThat(g.getString("event_id", 0)).isEqualTo(r.eventId());
      assertThat(g.getString("entity_id", 0)).isEqualTo(r.entityId());
      assertThat(g.getLong("event_time_ms", 0)).isEqualTo(r.eventTimeMs());
      assertThat(Double.doubleToRawLongBits(g.getDouble("user_txn:txn_count_1h", 0)))
          .isEqualTo(Double.doubleToRawLongBits(r.x()[0]));
      assertThat(Double.doubleToRawLongBits(g.getDouble("amount", 0)))
          .isEqualTo(Double.doubleToRawLongBits(r.x()[1]));
      assertThat(g.getInteger("is_fraud", 0)).isEqualTo(r.label() ? 1 : 0);
    }
  }

  @Test
  void csvQuotesCellsThatWouldBreakARow() {
    String csv = new String(TrainingFile.csv(COLUMNS, rows()), StandardCharsets.UTF_8);
    assertThat(csv.lines().toList())
        .containsExactly(
            String.join(",", COLUMNS),
            "e1,\"u,1\",1,3.0,12.5,0",
            "\"e\"\"2\",u2,9223372036854775807,0.0,-0.0,1",
            "é3,u3,-1,1.7976931348623157E308,4.9E-324,0");
  }

  @Test
  void theFileNameChoosesTheFormat() {
    assertThat(TrainingFile.formatOf(Path.of("a/rows.csv"))).isEqualTo("csv");
    assertThat(TrainingFile.formatOf(Path.of("rows.parquet"))).isEqualTo("parquet");
    assertThatThrownBy(() -> TrainingFile.formatOf(Path.of("rows.json")))
        .hasMessage("--out must name a .csv or .parquet file, got rows.json");
  }
}
