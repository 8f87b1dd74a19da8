package dev.streamscore.etl;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.streamscore.proto.v1.ColumnPartial;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.Value;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.datasketches.hll.HllSketch;

/**
 * One open tile's partials while an engine holds it: folded event by event (the only place partials
 * grow), kept in engine state in a compact binary form (cheaper to read and write per event than a
 * {@link FeatureRow}), and turned into a {@code FeatureRow} when it is emitted.
 *
 * <p>State format, version 1: {@code byte 1, long eventCount, long maxEventTime}, then per column
 * of the view: {@code long count}, and when count > 0 {@code double sum, sumSquares, min, max, long
 * lastTime, value last, int hllLength, hll bytes}; a value is a tag byte (1 double, 2 long, 3
 * string, 4 bool, 5 timestamp) and its payload.
 *
 * <p>A sketch is kept in state in DataSketches' updatable form: a sketch read from it and updated
 * is the sketch that was never written, byte for byte, so an engine may hold a tile across any
 * number of events between writes and its rows still equal those of a replay that writes after
 * every event. (The compact form does not round-trip so: its coupons come back in another order.)
 * Rows carry the compact form. State written before holds compact sketches; both forms are read.
 */
final class Tiles {
  private static final byte FORMAT = 1;

  final ViewPlan view;
  long eventCount;
  long maxEventTime;
  final long[] count;
  final double[] sum;
  final double[] sumSquares;
  final double[] min;
  final double[] max;
  final long[] lastTime;
  final Value[] last;

  /** Per column: the sketch as stored (either form), until {@link #sketch} reads it. */
  private final byte[][] hllImage;

  private final HllSketch[] sketch;

  private Tiles(ViewPlan view) {
    this.view = view;
    int n = view.columns().length;
    count = new long[n];
    sum = new double[n];
    sumSquares = new double[n];
    min = new double[n];
    max = new double[n];
    lastTime = new long[n];
    last = new Value[n];
    hllImage = new byte[n][];
    sketch = new HllSketch[n];
  }

  /** An empty tile. */
  static Tiles empty(ViewPlan view) {
    return new Tiles(view);
  }

  /**
   * Folds one accepted event in; events of a tile are folded in the entity's partition order, which
   * every engine preserves, so the doubles come out bit for bit the same.
   */
  void fold(Value[] row, long eventTimeMs) {
    eventCount++;
    if (eventCount == 1 || eventTimeMs > maxEventTime) {
      maxEventTime = eventTimeMs;
    }
    int[] index = view.columnIndex();
    for (int c = 0; c < index.length; c++) {
      Value v = row[index[c]];
      if (v == null) {
        continue;
      }
      long n = ++count[c];
      Value.KindCase kind = v.getKindCase();
      if (kind == Value.KindCase.DOUBLE_VALUE || kind == Value.KindCase.LONG_VALUE) {
        double x = kind == Value.KindCase.LONG_VALUE ? v.getLongValue() : v.getDoubleValue();
        sum[c] += x;
        sumSquares[c] += x * x;
        min[c] = n == 1 ? x : Math.min(min[c], x);
        max[c] = n == 1 ? x : Math.max(max[c], x);
      }
      // Ties go to the later event in partition order.
      if (n == 1 || eventTimeMs >= lastTime[c]) {
        last[c] = v;
        lastTime[c] = eventTimeMs;
      }
      if (view.sketches()[c]) {
        HllSketch s = sketch(c);
        if (s == null) {
          s = Sketches.read(new byte[0]);
          sketch[c] = s;
        }
        Sketches.update(s, v);
      }
    }
  }

  /** Column {@code c}'s sketch, read from state on first use; null when it has none. */
  HllSketch sketch(int c) {
    if (sketch[c] == null && hllImage[c] != null) {
      sketch[c] = Sketches.read(hllImage[c]);
      hllImage[c] = null;
    }
    return sketch[c];
  }

  /** Column {@code c}'s sketch in compact form, as rows carry it; null when it has none. */
  byte[] compactSketch(int c) {
    HllSketch s = sketch(c);
    return s == null ? null : s.toCompactByteArray();
  }

  private byte[] stateImage(int c) {
    return sketch[c] != null ? sketch[c].toUpdatableByteArray() : hllImage[c];
  }

  /** The tile's row; the version is the number of events folded in. */
  FeatureRow toRow(String entityId, long tileStartMs, long updatedAtMs, String producer) {
    return toRow(entityId, tileStartMs, updatedAtMs, producer, SourcePosition.UNKNOWN);
  }

  /** {@link #toRow(String, long, long, String)}, saying where the last event folded in was read. */
  FeatureRow toRow(
      String entityId,
      long tileStartMs,
      long updatedAtMs,
      String producer,
      SourcePosition position) {
    FeatureRow.Builder row =
        FeatureRow.newBuilder()
            .setView(view.spec().name())
            .setEntityId(entityId)
            .setTileStartMs(tileStartMs)
            .setTileSizeMs(view.spec().tileMs())
            .setVersion(eventCount)
            .setEventCount(eventCount)
            .setMaxEventTimeMs(maxEventTime)
            .setSpecFingerprint(view.fingerprint())
            .setUpdatedAtMs(updatedAtMs)
            .setProducer(producer);
    if (position != SourcePosition.UNKNOWN) {
      row.setSourcePartition(position.partition())
          .setSourceNextOffset(position.offset() + 1)
          .setSourceAppendedMs(position.appendedMs());
    }
    String[] columns = view.columns();
    for (int c = 0; c < columns.length; c++) {
      if (count[c] == 0) {
        continue;
      }
      ColumnPartial.Builder p =
          ColumnPartial.newBuilder()
              .setCount(count[c])
              .setSum(sum[c])
              .setSumSquares(sumSquares[c])
              .setMin(min[c])
              .setMax(max[c])
              .setLast(last[c])
              .setLastTimeMs(lastTime[c]);
      byte[] compact = compactSketch(c);
      if (compact != null) {
        p.setHllSketch(UnsafeByteOperations.unsafeWrap(compact)); // a fresh array, kept by no one
      }
      row.putColumns(columns[c], p.build());
    }
    return row.build();
  }

  /** The state bytes. */
  byte[] encode() {
    int size = 1 + 16;
    byte[][] hll = new byte[count.length][];
    for (int c = 0; c < count.length; c++) {
      size += 8;
      if (count[c] > 0) {
        hll[c] = stateImage(c);
        size += 32 + 8 + valueSize(last[c]) + 4 + (hll[c] == null ? 0 : hll[c].length);
      }
    }
    ByteBuffer out = ByteBuffer.allocate(size);
    out.put(FORMAT).putLong(eventCount).putLong(maxEventTime);
    for (int c = 0; c < count.length; c++) {
      out.putLong(count[c]);
      if (count[c] > 0) {
        out.putDouble(sum[c]).putDouble(sumSquares[c]).putDouble(min[c]).putDouble(max[c]);
        out.putLong(lastTime[c]);
        putValue(out, last[c]);
        if (hll[c] == null) {
          out.putInt(-1);
        } else {
          out.putInt(hll[c].length).put(hll[c]);
        }
      }
    }
    return out.array();
  }

  /**
   * Reads state bytes of this view.
   *
   * @throws IllegalStateException when they are not this format or not this view's columns
   */
  static Tiles decode(ViewPlan view, byte[] bytes) {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    if (bytes.length < 17 || in.get() != FORMAT) {
      throw new IllegalStateException(
          "tile state of view '"
              + view.spec().name()
              + "' is not in format "
              + FORMAT
              + "; it was written by another streamscore version: start from a fresh checkpoint");
    }
    Tiles tile = new Tiles(view);
    tile.eventCount = in.getLong();
    tile.maxEventTime = in.getLong();
    for (int c = 0; c < tile.count.length; c++) {
      tile.count[c] = in.getLong();
      if (tile.count[c] > 0) {
        tile.sum[c] = in.getDouble();
        tile.sumSquares[c] = in.getDouble();
        tile.min[c] = in.getDouble();
        tile.max[c] = in.getDouble();
        tile.lastTime[c] = in.getLong();
        tile.last[c] = getValue(in);
        int hllLength = in.getInt();
        if (hllLength >= 0) {
          tile.hllImage[c] = new byte[hllLength];
          in.get(tile.hllImage[c]);
        }
      }
    }
    if (in.hasRemaining()) {
      throw new IllegalStateException(
          "tile state of view '" + view.spec().name() + "' does not match its columns");
    }
    return tile;
  }

  static int valueSize(Value v) {
    return switch (v.getKindCase()) {
      case DOUBLE_VALUE, LONG_VALUE, TIMESTAMP_MS -> 9;
      case BOOL_VALUE -> 2;
      case STRING_VALUE -> 5 + v.getStringValueBytes().size();
      default -> 1;
    };
  }

  static void putValue(ByteBuffer out, Value v) {
    switch (v.getKindCase()) {
      case DOUBLE_VALUE -> out.put((byte) 1).putDouble(v.getDoubleValue());
      case LONG_VALUE -> out.put((byte) 2).putLong(v.getLongValue());
      case STRING_VALUE -> {
        ByteString s = v.getStringValueBytes();
        out.put((byte) 3).putInt(s.size());
        s.copyTo(out);
      }
      case BOOL_VALUE -> out.put((byte) 4).put((byte) (v.getBoolValue() ? 1 : 0));
      case TIMESTAMP_MS -> out.put((byte) 5).putLong(v.getTimestampMs());
      default -> out.put((byte) 0);
    }
  }

  static Value getValue(ByteBuffer in) {
    byte tag = in.get();
    return switch (tag) {
      case 1 -> Value.newBuilder().setDoubleValue(in.getDouble()).build();
      case 2 -> Value.newBuilder().setLongValue(in.getLong()).build();
      case 3 -> {
        int length = in.getInt();
        if (length < 0 || length > in.remaining()) {
          throw new java.nio.BufferUnderflowException();
        }
        byte[] utf8 = new byte[length];
        in.get(utf8);
        yield Value.newBuilder().setStringValue(new String(utf8, StandardCharsets.UTF_8)).build();
      }
      case 4 -> Value.newBuilder().setBoolValue(in.get() != 0).build();
      case 5 -> Value.newBuilder().setTimestampMs(in.getLong()).build();
      default -> Value.getDefaultInstance();
    };
  }
}
