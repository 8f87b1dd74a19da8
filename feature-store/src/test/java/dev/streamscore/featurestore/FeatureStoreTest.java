package dev.streamscore.featurestore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.etl.FeatureDef;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.GoldenStream;
import dev.streamscore.etl.Replay;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.etl.Windows;
import dev.streamscore.proto.v1.EntityFeatures;
import dev.streamscore.proto.v1.EntityStatus;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.FeatureStatus;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FeatureStoreTest {
  private static final long START = 1_764_000_000_000L;
  private static final FeatureSpec SPEC = GoldenStream.spec();

  @TempDir Path dir;

  /** Every row an engine would emit for the stream (each version of each tile), and the replay. */
  private static List<FeatureRow> rowsOf(List<Event> events, Replay replay) {
    List<FeatureRow> rows = new ArrayList<>();
    for (Event e : events) {
      rows.addAll(replay.accept(e).rows());
    }
    return rows;
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void windowValuesReadFromTheStoreEqualTheReplaysPointInTimeValues(long seed) {
    List<Event> events = GoldenStream.generate(seed, 8_000, 60, START, 4 * 3_600_000L);
    Replay replay = new Replay(SPEC, GoldenStream.SOURCE);
    List<FeatureRow> rows = rowsOf(events, replay);
    // At-least-once, out of order: every row twice, shuffled, in uneven batches.
    List<FeatureRow> delivered = new ArrayList<>(rows);
    delivered.addAll(rows);
    Collections.shuffle(delivered, new Random(seed));

    try (FeatureStore store = FeatureStore.open(dir, SPEC)) {
      for (int i = 0; i < delivered.size(); i += 997) {
        store.write(delivered.subList(i, Math.min(delivered.size(), i + 997)), Map.of());
      }
      SplittableRandom random = new SplittableRandom(seed);
      int compared = 0;
      for (int q = 0; q < 300; q++) {
        String entity = "u" + random.nextInt(60);
        for (ViewSpec view : SPEC.views().values()) {
          // Around the stream's end: tiles further back than the longest window (plus lateness)
          // before an entity's newest tile are dropped, so older times are not served exactly.
          long t = view.tileStart(START + 4 * 3_600_000L - 600_000 + random.nextLong(3_600_000L));
          for (FeatureDef f : view.features().values()) {
            assertThat(store.value(view.name() + ":" + f.name(), entity, t))
                .as("%s:%s of %s at %d", view.name(), f.name(), entity, t)
                .isEqualTo(replay.valueAt(view.name(), f.name(), entity, t));
            compared++;
          }
        }
      }
      assertThat(compared).isGreaterThan(3_000);
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {4, 5})
  void vectorsReadInBatchesEqualTheReplaysPointInTimeValues(long seed) {
    List<Event> events = GoldenStream.generate(seed, 6_000, 40, START, 4 * 3_600_000L);
    Replay replay = new Replay(SPEC, GoldenStream.SOURCE);
    List<FeatureRow> rows = rowsOf(events, replay);
    List<String> features = new ArrayList<>();
    for (ViewSpec view : SPEC.views().values()) {
      view.features().keySet().forEach(f -> features.add(view.name() + ":" + f));
    }
    try (FeatureStore store = FeatureStore.open(dir, SPEC)) {
      store.write(rows, Map.of());
      FeatureStore.Lookup lookup = store.lookup(features);
      SplittableRandom random = new SplittableRandom(seed);
      int compared = 0;
      for (int q = 0; q < 40; q++) {
        // A boundary of every view's tiles (hours are minutes too): exact in each view.
        long t =
            SPEC.views()
                .get("user_daily")
                .tileStart(START + 3 * 3_600_000L + random.nextLong(2 * 3_600_000L));
        List<String> entities =
            List.of("u" + random.nextInt(40), "u" + random.nextInt(40), "nobody");
        List<dev.streamscore.proto.v1.EntityFeatures> read = lookup.vectors(entities, t);
        for (int e = 0; e < entities.size(); e++) {
          for (int i = 0; i < features.size(); i++) {
            String[] name = features.get(i).split(":");
            assertThat(read.get(e).getValues(i))
                .as("%s of %s at %d", features.get(i), entities.get(e), t)
                .isEqualTo(replay.valueAt(name[0], name[1], entities.get(e), t));
            compared++;
          }
        }
      }
      assertThat(compared).isGreaterThan(1_000);
    }
  }

  @Test
  void keysAndRowsLargerThanTheReadBuffersAreReadWhole() {
    String entity = "u".repeat(1_000);
    FeatureRow big =
        row(entity, START, 2).toBuilder()
            .putColumns(
                "amount",
                dev.streamscore.proto.v1.ColumnPartial.newBuilder()
                    .setCount(2)
                    .setSum(30)
                    .setSumSquares(500)
                    .setMin(10)
                    .setMax(20)
                    .setLastTimeMs(START + 1)
                    .setHllSketch(com.google.protobuf.ByteString.copyFrom(new byte[100_000]))
                    .build())
            .build();
    assertThat(big.getSerializedSize()).isGreaterThan(64 * 1024);
    try (FeatureStore store = FeatureStore.open(dir, SPEC)) {
      store.write(List.of(big, row("u2", START, 1)), Map.of());
      long t = START + SPEC.views().get("user_txn").tileMs();
      for (String entityId : List.of(entity, "u2", entity)) {
        var vector =
            store.vector(entityId, List.of("user_txn:txn_count_1h", "user_txn:amount_max_10m"), t);
        FeatureRow expected = entityId.equals(entity) ? big : row("u2", START, 1);
        ViewSpec view = SPEC.views().get("user_txn");
        assertThat(vector.getValues(0))
            .isEqualTo(
                Windows.value(view, view.features().get("txn_count_1h"), List.of(expected), t));
        assertThat(vector.getValues(1))
            .isEqualTo(
                Windows.value(view, view.features().get("amount_max_10m"), List.of(expected), t));
      }
    }
  }

  private static FeatureRow row(String entity, long tile, long version) {
    ViewSpec view = SPEC.views().get("user_txn");
    return FeatureRow.newBuilder()
        .setView(view.name())
        .setEntityId(entity)
        .setTileStartMs(tile)
        .setTileSizeMs(view.tileMs())
        .setVersion(version)
        .setEventCount(version)
        .setMaxEventTimeMs(tile + 1)
        .setSpecFingerprint(view.fingerprint(SPEC.source("payments").orElseThrow()))
        .build();
  }

  @Test
  void keepsTheGreatestVersionOfEachTileWhateverTheOrder() {
    try (FeatureStore store = FeatureStore.open(dir, SPEC)) {
      assertThat(store.write(List.of(row("u1", START, 3), row("u1", START, 5)), Map.of()))
          .isEqualTo(new FeatureStore.WriteResult(1, 1, 0));
      assertThat(store.write(List.of(row("u1", START, 4)), Map.of()))
          .isEqualTo(new FeatureStore.WriteResult(0, 1, 0));

      assertThat(store.tiles("user_txn", "u1", START, START + 1))
          .extracting(FeatureRow::getVersion)
          .containsExactly(5L);
    }
  }

  @Test
  void storesOffsetsWithTheRowsAndKeepsBothAcrossReopening() {
    try (FeatureStore store = FeatureStore.open(dir, SPEC)) {
      store.write(
          List.of(row("u1", START, 1)), Map.of(new SourcePartition("features.user_txn", 0), 41L));
      store.write(
          List.of(row("u2", START, 1)), Map.of(new SourcePartition("features.user_txn", 0), 42L));
    }
    try (FeatureStore store = FeatureStore.open(dir, SPEC)) {
      assertThat(store.offsets())
          .containsExactly(Map.entry(new SourcePartition("features.user_txn", 0), 42L));
      assertThat(store.tiles("user_txn", "u2", START, START + 60_000)).hasSize(1);
    }
  }

  @Test
  void lookupsSayWhereTheirRowsStoodAndTheStoreRemembersHowFarEachPartitionGot() {
    SourcePartition p2 = new SourcePartition("events.payments", 2);
    try (FeatureStore store = FeatureStore.open(dir, SPEC)) {
      assertThat(store.applied(p2)).isEmpty();
      store.write(
          List.of(
              positioned(row("u1", START, 1), 2, 10, 500),
              positioned(row("u1", START + 60_000, 1), 2, 12, 700),
              row("u2", START, 1), // no position: a replay's row
              // A hostile writer's positions say nothing rather than stopping the store.
              positioned(row("u3", START, 1), -5, 99, 1),
              positioned(row("u4", START, 1), 2, -3, 1)),
          Map.of(new SourcePartition("features.user_txn", 0), 5L));
      store.write(List.of(positioned(row("u1", START, 2), 2, 11, 600)), Map.of());

      var u1 =
          store.lookup(List.of("user_txn:txn_count_1h")).vectors(List.of("u1"), START + 120_000);
      assertThat(u1.get(0).getPositionsList())
          .singleElement()
          .satisfies(
              at -> {
                assertThat(at.getTopic()).isEqualTo("events.payments");
                assertThat(at.getPartition()).isEqualTo(2);
                assertThat(at.getNextOffset()).isEqualTo(12);
              });
      assertThat(
              store
                  .lookup(List.of("user_txn:txn_count_1h"))
                  .vectors(List.of("u2", "u3", "u4"), START + 120_000))
          .allSatisfy(e -> assertThat(e.getPositionsList()).isEmpty());
      assertThat(store.applied(p2)).contains(new FeatureStore.Applied(12, 700));
    }
    try (FeatureStore store = FeatureStore.open(dir, SPEC)) {
      assertThat(store.applied(p2)).contains(new FeatureStore.Applied(12, 700));
      // The positions live beside the offsets without being taken for one.
      assertThat(store.offsets())
          .containsExactly(Map.entry(new SourcePartition("features.user_txn", 0), 5L));
    }
  }

  private static FeatureRow positioned(FeatureRow row, int partition, long next, long appended) {
    return row.toBuilder()
        .setSourcePartition(partition)
        .setSourceNextOffset(next)
        .setSourceAppendedMs(appended)
        .build();
  }

  @Test
  void refusesRowsOfAnotherViewDefinition() {
    try (FeatureStore store = FeatureStore.open(dir, SPEC)) {
      FeatureRow foreign = row("u1", START, 1).toBuilder().setSpecFingerprint("0123").build();
      FeatureRow unknownView = row("u1", START, 1).toBuilder().setView("nope").build();

      assertThat(store.write(List.of(foreign, unknownView), Map.of()))
          .isEqualTo(new FeatureStore.WriteResult(0, 0, 2));
      assertThat(store.tiles("user_txn", "u1", Long.MIN_VALUE, Long.MAX_VALUE)).isEmpty();
    }
  }

  @Test
  void dropsTilesNoWindowCanReachWhenSwept() {
    ViewSpec view = SPEC.views().get("user_txn");
    long keep = view.longestWindowMs() + view.allowedLatenessMs() + view.tileMs();
    try (FeatureStore store = FeatureStore.open(dir, SPEC)) {
      store.write(List.of(row("u1", START, 1), row("u1", START + 60_000, 1)), Map.of());
      store.write(List.of(row("u2", START, 1)), Map.of());
      store.write(List.of(row("u1", START + keep + 60_000, 1)), Map.of());
      assertThat(store.tiles("user_txn", "u1", Long.MIN_VALUE, Long.MAX_VALUE)).hasSize(3);

      assertThat(store.dropUnreachableTiles()).isEqualTo(1);

      assertThat(store.tiles("user_txn", "u1", Long.MIN_VALUE, Long.MAX_VALUE))
          .extracting(FeatureRow::getTileStartMs)
          .containsExactly(START + 60_000, START + keep + 60_000);
      assertThat(store.tiles("user_txn", "u2", Long.MIN_VALUE, Long.MAX_VALUE))
          .as("another entity's tiles stay")
          .hasSize(1);
    }
  }

  @Test
  void reportsMissingExpiredAndUnknownEntitiesWithStatuses() {
    List<Event> events = GoldenStream.generate(9, 2_000, 5, START, 3_600_000L);
    Replay replay = new Replay(SPEC, GoldenStream.SOURCE);
    List<FeatureRow> rows = rowsOf(events, replay);
    try (FeatureStore store = FeatureStore.open(dir, SPEC)) {
      store.write(rows, Map.of());
      long end = START + 3_600_000L;
      List<String> names =
          List.of("user_txn:txn_count_1h", "user_txn:last_country", "user_txn:amount_mean_1h");

      EntityFeatures now = store.vector("u0", names, ViewSpecTile.next(end));
      assertThat(now.getStatus()).isEqualTo(EntityStatus.ENTITY_STATUS_COMPLETE);
      assertThat(now.getValues(0).getValue().getLongValue()).isPositive();

      // 45 minutes later: the 30m TTL has expired the last value, the 1h window still counts.
      EntityFeatures later = store.vector("u0", names, ViewSpecTile.next(end) + 45 * 60_000);
      assertThat(later.getStatus()).isEqualTo(EntityStatus.ENTITY_STATUS_PARTIAL);
      assertThat(later.getValues(1).getStatus()).isEqualTo(FeatureStatus.FEATURE_STATUS_EXPIRED);
      assertThat(later.getValues(1).hasValue()).isFalse();

      EntityFeatures stranger = store.vector("nobody", names, end);
      assertThat(stranger.getStatus()).isEqualTo(EntityStatus.ENTITY_STATUS_UNKNOWN);
      assertThat(stranger.getValues(2).getStatus()).isEqualTo(FeatureStatus.FEATURE_STATUS_MISSING);
    }
  }

  /** Tile arithmetic for the test's 1-minute tiles. */
  private static final class ViewSpecTile {
    static long next(long t) {
      return Math.floorDiv(t, 60_000) * 60_000 + 60_000;
    }
  }

  @Test
  void namesAnUnknownFeatureAndRejectsCallsAfterClose() {
    FeatureStore store = FeatureStore.open(dir, SPEC);
    assertThatThrownBy(() -> store.value("user_txn:nope", "u1", START))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("view 'user_txn' has no feature 'nope'");
    assertThatThrownBy(() -> store.value("txn_count_1h", "u1", START))
        .hasMessage("feature 'txn_count_1h' must be qualified as view:feature");
    store.close();
    store.close(); // idempotent

    assertThatThrownBy(() -> store.tiles("user_txn", "u1", 0, 1))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("feature store " + dir.toAbsolutePath() + " is closed");
    assertThatThrownBy(() -> store.write(List.of(row("u1", START, 1)), Map.of()))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void wrapsRocksDbErrorsWithTheStoreAndTheOperation() {
    try (FeatureStore first = FeatureStore.open(dir, SPEC)) {
      assertThatThrownBy(() -> FeatureStore.open(dir, SPEC))
          .isInstanceOf(FeatureStoreException.class)
          .hasMessageStartingWith(
              "feature store " + dir.toAbsolutePath() + ": cannot open the database: ")
          .hasMessageContaining("lock");
      assertThat(first.offsets()).isEmpty();
    }
  }
}
