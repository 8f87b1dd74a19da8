package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.util.JsonFormat;
import dev.streamscore.proto.v1.DistributionKind;
import dev.streamscore.proto.v1.ReferenceProfile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProfileFileTest {
  private static final List<String> INPUTS = List.of("user_txn:txn_count_10m", "amount");
  private static final List<String> OUTPUTS = List.of("p_fraud");
  @TempDir Path dir;

  private ReferenceProfile read(String name, String text) throws Exception {
    return ProfileFile.read(
        Files.writeString(dir.resolve(name), text), INPUTS, Map.of("amount", 12.5), OUTPUTS);
  }

  private void refused(String name, byte[] bytes, String message) throws Exception {
    Path file = Files.write(dir.resolve(name), bytes);
    assertThatThrownBy(() -> ProfileFile.read(file, INPUTS, Map.of(), OUTPUTS))
        .isInstanceOf(StartupException.class)
        .hasMessageContaining(message);
  }

  @Test
  void aCsvOfRowsInAnyColumnOrderBuildsTheProfileAndCountsEmptyInputsAsDefaulted()
      throws Exception {
    StringBuilder csv = new StringBuilder("p_fraud, amount ,user_txn:txn_count_10m\n");
    for (int i = 0; i < 1_000; i++) {
      csv.append(i / 1000.0).append(',').append(i % 10 == 0 ? "" : i * 1.5).append(',');
      csv.append(i % 4).append('\n');
    }
    csv.append("\n"); // a blank last line is no row
    ReferenceProfile p = read("rows.csv", csv.toString());

    assertThat(p.getInputsList()).extracting(d -> d.getName()).containsExactlyElementsOf(INPUTS);
    assertThat(p.getInputs(0).getKind()).isEqualTo(DistributionKind.DISTRIBUTION_KIND_CATEGORICAL);
    assertThat(p.getInputs(1).getKind()).isEqualTo(DistributionKind.DISTRIBUTION_KIND_NUMERIC);
    assertThat(p.getInputs(1).getDefaulted()).isEqualTo(100);
    assertThat(p.getOutputs(0).getName()).isEqualTo("p_fraud");
    assertThat(p.getSource()).isEqualTo("rows.csv: 1000 rows");
  }

  @Test
  void aJsonProfileIsReadAsItIs() throws Exception {
    ReferenceProfile built =
        read("a.csv", "amount,user_txn:txn_count_10m,p_fraud\n1,2,0.5\n3,4,0.25\n");
    ReferenceProfile back = read("a.json", JsonFormat.printer().print(built));
    assertThat(back).isEqualTo(built);
  }

  @Test
  void everyBadFileIsOneLineNamingWhereNoStackTrace() throws Exception {
    String header = "amount,user_txn:txn_count_10m,p_fraud\n";
    refused("x.csv", new byte[0], "is empty; its first line names the columns");
    refused("x.csv", header.getBytes(), "has a header and no rows");
    refused("x.csv", "amount,p_fraud\n1,2\n".getBytes(), "no column 'user_txn:txn_count_10m'");
    refused("x.csv", (header.strip() + ",extra\n").getBytes(), "column 'extra' is neither");
    refused("x.csv", "amount,amount,user_txn:txn_count_10m,p_fraud\n".getBytes(), "appears twice");
    refused("x.csv", (header + "1,2\n").getBytes(), "line 2 has 2 cells");
    refused("x.csv", (header + "1,2,\n").getBytes(), "line 2: output 'p_fraud' is empty");
    refused(
        "x.csv", (header + "1,0x1G,0.5\n").getBytes(), "line 2 column 'user_txn:txn_count_10m'");
    refused("x.csv", (header + "1e999999,2,0.5\n").getBytes(), "'1e999999' is not a finite number");
    refused("x.csv", (header + "NaN,2,0.5\n").getBytes(), "'NaN' is not a finite number");
    byte[] latin1 = (header + "1,2,0.5\n").getBytes();
    latin1[3] = (byte) 0xE9; // not UTF-8
    refused("x.csv", latin1, "is not UTF-8 text");
    refused("x.json", "{\"inputs\": 7}".getBytes(), "is not a ReferenceProfile in JSON");
    refused("x.txt", "a".getBytes(), "a profile is a .json ReferenceProfile or a .csv of rows");
    assertThatThrownBy(() -> ProfileFile.read(dir.resolve("absent.csv"), INPUTS, Map.of(), OUTPUTS))
        .hasMessageContaining("no profile file at");
  }
}
