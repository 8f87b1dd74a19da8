package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.proto.v1.ColumnPartial;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.FeatureValue;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ServingTilesTest {
  private static final long START = 1_764_000_000_000L;
  private static final FeatureSpec SPEC = GoldenStream.spec();

  @ParameterizedTest
  @ValueSource(longs = {31, 32})
  void servingTilesGiveEveryFeatureTheValueTheRowsGiveAtAnyTimeInAnyOrder(long seed)
      throws IOException {
    List<Event> events = GoldenStream.generate(seed, 8_000, 25, START, 5 * 3_600_000L);
    Replay replay = new Replay(SPEC, GoldenStream.SOURCE);
    events.forEach(replay::accept);
    SplittableRandom random = new SplittableRandom(seed);
    int compared = 0;
    for (ViewSpec view : SPEC.views().values()) {
      ServingTiles tiles = new ServingTiles(view);
      for (Map.Entry<String, TreeMap<Long, FeatureRow>> e :
          replay.finalRows(view.name()).entrySet()) {
        List<FeatureRow> rows = new ArrayList<>(e.getValue().values());
        // Half the entities decoded out of tile order: the merge order must not follow it.
        if (random.nextBoolean()) {
          Collections.shuffle(rows, new java.util.Random(seed));
        }
        tiles.clear();
        for (FeatureRow row : rows) {
          tiles.add(row.toByteArray());
        }
        assertThat(tiles.size()).isEqualTo(rows.size());
        for (int k = 1; k < tiles.size(); k++) {
          assertThat(tiles.tileStart(k)).isGreaterThan(tiles.tileStart(k - 1));
        }
        for (int q = 0; q < 20; q++) {
          long t = START + random.nextLong(6 * 3_600_000L);
          for (FeatureDef f : view.features().values()) {
            FeatureValue fromTiles = Windows.value(view, f, tiles.columnOf(f), tiles, t);
            assertThat(fromTiles)
                .as("%s:%s %s at %d", view.name(), f.name(), e.getKey(), t)
                .isEqualTo(Windows.value(view, f, rows, t));
            compared++;
          }
        }
      }
    }
    assertThat(compared).isGreaterThan(1_000);
  }

  @Test
  void columnsTheViewDoesNotDeclareAndUnknownFieldsAreSkipped() throws IOException {
    ViewSpec view = SPEC.views().values().iterator().next();
    Replay replay = new Replay(SPEC, GoldenStream.SOURCE);
    GoldenStream.generate(3, 500, 3, START, 3_600_000L).forEach(replay::accept);
    FeatureRow row =
        replay.finalRows(view.name()).values().iterator().next().values().iterator().next();
    FeatureRow foreign =
        row.toBuilder()
            .putColumns("not_a_column", ColumnPartial.newBuilder().setCount(99).setSum(1e9).build())
            .build();
    byte[] withUnknownField =
        com.google.protobuf.ByteString.copyFrom(foreign.toByteArray())
            .concat(com.google.protobuf.ByteString.copyFrom(new byte[] {(byte) 0xf8, 0x07, 0x05}))
            .toByteArray(); // field 127, varint 5
    ServingTiles tiles = new ServingTiles(view);
    tiles.add(withUnknownField);
    long t = row.getTileStartMs() + row.getTileSizeMs();
    for (FeatureDef f : view.features().values()) {
      assertThat(Windows.value(view, f, tiles.columnOf(f), tiles, t))
          .isEqualTo(Windows.value(view, f, List.of(row), t));
    }
  }

  @Test
  void bytesThatAreNoRowAreAnIoErrorNeverAHangOrACrash() {
    ViewSpec view = SPEC.views().values().iterator().next();
    ServingTiles tiles = new ServingTiles(view);
    SplittableRandom random = new SplittableRandom(9);
    int refused = 0;
    for (int i = 0; i < 2_000; i++) {
      byte[] bytes = new byte[random.nextInt(1, 200)];
      random.nextBytes(bytes);
      try {
        tiles.add(bytes);
      } catch (IOException e) {
        refused++;
      }
    }
    assertThat(refused).isGreaterThan(1_000);
    // A map entry claiming more bytes than the row has.
    assertThatThrownBy(() -> tiles.add(new byte[] {0x3a, 0x7f, 0x0a, 0x01}))
        .isInstanceOf(IOException.class);
    // A varint of 11 bytes; a group (no message of ours has one); a length past the end.
    byte[] longVarint = {0x08, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0x01};
    assertThatThrownBy(() -> tiles.add(longVarint)).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> tiles.add(new byte[] {0x0b, 0x0c})).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> tiles.add(new byte[] {0x12, (byte) 0xff, (byte) 0xff, 0x7f}))
        .isInstanceOf(IOException.class);
  }

  @Test
  void aKnownFieldWrittenWithAnotherWireTypeIsSkippedLikeAnUnknownOne() throws IOException {
    ViewSpec view = SPEC.views().values().iterator().next();
    ServingTiles tiles = new ServingTiles(view);
    // tile_start_ms (field 1) once as a varint, then again as a length-delimited field: protobuf
    // treats the second as unknown, and so does the serving decoder.
    FeatureRow row = FeatureRow.newBuilder().setTileStartMs(60_000).setEventCount(3).build();
    byte[] bytes =
        com.google.protobuf.ByteString.copyFrom(row.toByteArray())
            .concat(com.google.protobuf.ByteString.copyFrom(new byte[] {0x0a, 0x02, 0x01, 0x02}))
            .toByteArray();
    assertThat(FeatureRow.parseFrom(bytes).getTileStartMs()).isEqualTo(60_000);
    tiles.add(bytes);
    assertThat(tiles.size()).isEqualTo(1);
    assertThat(tiles.tileStart(0)).isEqualTo(60_000);
  }
}
