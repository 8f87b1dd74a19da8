package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.proto.v1.PartitionRange;
import dev.streamscore.scoring.monitor.Quality;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SearchCheckpointTest {
  @TempDir Path dir;

  private static Search.Trial trial(
      double rate, int depth, int rounds, double auc, double logLoss) {
    Map<String, String> parameters = new LinkedHashMap<>();
    parameters.put("learning_rate", Double.toString(rate));
    parameters.put("max_depth", Integer.toString(depth));
    parameters.put("rounds", Integer.toString(rounds));
    return new Search.Trial(
        parameters,
        rounds,
        new Quality(
            2_986, 88, auc, logLoss, 0.5, 0.4, 0.01, new long[0], new double[0], new double[0]),
        null);
  }

  @Test
  void aCheckpointReadsBackItsSettingsOffsetsAndTrialsToTheLastBit() throws Exception {
    Path file = SearchCheckpoint.file(dir.resolve("searches"), "fraud");
    SearchCheckpoint written =
        new SearchCheckpoint(
                Map.of("algorithm", "xgboost", "space", "rounds=50,100;max_depth=2", "from", ""),
                List.of(
                    PartitionRange.newBuilder()
                        .setPartition(0)
                        .setFromOffset(0)
                        .setToOffset(5_003)
                        .build(),
                    PartitionRange.newBuilder()
                        .setPartition(3)
                        .setFromOffset(7)
                        .setToOffset(9)
                        .build()),
                List.of())
            .with(trial(0.05, 2, 200, 0.9645123456789012, 0.06230000000000001))
            .with(trial(0.1, 4, 50, Double.NaN, 1e-300));
    written.write(file);
    written.write(file); // rewritten in place, whole
    SearchCheckpoint read = SearchCheckpoint.read(file).orElseThrow();
    assertThat(read.settings()).isEqualTo(written.settings());
    assertThat(read.ranges()).isEqualTo(written.ranges());
    assertThat(read.trials()).hasSize(2);
    for (int i = 0; i < 2; i++) {
      Search.Trial a = written.trials().get(i);
      Search.Trial b = read.trials().get(i);
      assertThat(b.parameters()).containsExactlyEntriesOf(a.parameters());
      assertThat(b.epochs()).isEqualTo(a.epochs());
      assertThat(Double.doubleToLongBits(b.validation().auc()))
          .isEqualTo(Double.doubleToLongBits(a.validation().auc()));
      assertThat(Double.doubleToLongBits(b.validation().logLoss()))
          .isEqualTo(Double.doubleToLongBits(a.validation().logLoss()));
      assertThat(b.validation().positives()).isEqualTo(88);
      assertThat(b.validation().labelled()).isEqualTo(2_986);
    }
    try (var files = Files.list(file.getParent())) {
      assertThat(files.toList()).containsExactly(file); // no temporary file left
    }
    assertThat(SearchCheckpoint.read(dir.resolve("none.search"))).isEmpty();
  }

  @Test
  void aFileThatIsNotACheckpointIsRefusedInOneLine() throws Exception {
    Path file = Files.writeString(dir.resolve("fraud.search"), "trials=2\ntrial.0.order=x\n");
    assertThatThrownBy(() -> SearchCheckpoint.read(file))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            file
                + " is not a search checkpoint (no trial.0.parameter.x); delete it to start afresh");
    Files.write(file, new byte[] {(byte) 0xff, 0, 1, '\n'});
    assertThatThrownBy(() -> SearchCheckpoint.read(file))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not a search checkpoint");
  }
}
