package dev.streamscore.etl;

import com.google.protobuf.ByteString;
import dev.streamscore.proto.v1.ColumnPartial;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.Value;
import org.apache.datasketches.hll.HllSketch;

/** Folding one cleaned event into a tile's partials. The only place partials grow. */
final class Tiles {
  private Tiles() {}

  /** An empty tile of a view for an entity. */
  static FeatureRow.Builder empty(ViewPlan view, String entityId, long tileStartMs) {
    return FeatureRow.newBuilder()
        .setView(view.spec().name())
        .setEntityId(entityId)
        .setTileStartMs(tileStartMs)
        .setTileSizeMs(view.spec().tileMs())
        .setSpecFingerprint(view.fingerprint());
  }

  /**
   * Folds one accepted event into the tile; events of a tile are folded in the entity's partition
   * order, which every engine preserves, so the doubles come out bit for bit the same.
   */
  static void fold(FeatureRow.Builder tile, ViewPlan view, Value[] row, long eventTimeMs) {
    long count = tile.getEventCount() + 1;
    tile.setEventCount(count).setVersion(count);
    if (count == 1 || eventTimeMs > tile.getMaxEventTimeMs()) {
      tile.setMaxEventTimeMs(eventTimeMs);
    }
    String[] columns = view.columns();
    for (int c = 0; c < columns.length; c++) {
      Value v = row[view.columnIndex()[c]];
      if (v == null) {
        continue;
      }
      ColumnPartial old = tile.getColumnsOrDefault(columns[c], ColumnPartial.getDefaultInstance());
      ColumnPartial.Builder p = old.toBuilder();
      long n = old.getCount() + 1;
      p.setCount(n);
      boolean numeric =
          v.getKindCase() == Value.KindCase.DOUBLE_VALUE
              || v.getKindCase() == Value.KindCase.LONG_VALUE;
      if (numeric) {
        double x =
            v.getKindCase() == Value.KindCase.LONG_VALUE ? v.getLongValue() : v.getDoubleValue();
        p.setSum(old.getSum() + x).setSumSquares(old.getSumSquares() + x * x);
        p.setMin(n == 1 ? x : Math.min(old.getMin(), x));
        p.setMax(n == 1 ? x : Math.max(old.getMax(), x));
      }
      // Ties go to the later event in partition order.
      if (n == 1 || eventTimeMs >= old.getLastTimeMs()) {
        p.setLast(v).setLastTimeMs(eventTimeMs);
      }
      if (view.sketches()[c]) {
        HllSketch sketch = Sketches.read(old.getHllSketch().toByteArray());
        Sketches.update(sketch, v);
        p.setHllSketch(ByteString.copyFrom(sketch.toCompactByteArray()));
      }
      tile.putColumns(columns[c], p.build());
    }
  }
}
