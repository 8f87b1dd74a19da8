package dev.streamscore.etl;

import dev.streamscore.proto.v1.ColumnPartial;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.Value;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * One entity's stored tiles of a view, decoded for serving: the {@code FeatureRow} wire format read
 * field by field into flat arrays (per tile, and per tile and column at fixed offsets), with no
 * message, map or string built for a tile. A buffer is reused: {@link #clear()}, then {@link #add}
 * each row's bytes in the order read, then {@link Windows#value(ViewSpec, FeatureDef, int,
 * ServingTiles, long)} per feature. Not thread-safe; one per thread and view.
 *
 * <p>Only what window values and log positions need is kept: a column's {@code last} value and HLL
 * sketch are decoded only for columns a {@code last} or {@code approx_distinct} feature reads.
 */
public final class ServingTiles {
  private final ViewSpec view;
  private final List<String> columns;
  private final byte[][] columnNames;
  private final boolean[] keepsLast;
  private final boolean[] keepsSketch;
  private final int width;

  // The tags read, each with the wire type its field is written with; any other is skipped.
  private static final int TILE_START =
      FeatureRow.TILE_START_MS_FIELD_NUMBER << 3 | WireReader.VARINT;
  private static final int EVENT_COUNT =
      FeatureRow.EVENT_COUNT_FIELD_NUMBER << 3 | WireReader.VARINT;
  private static final int COLUMNS =
      FeatureRow.COLUMNS_FIELD_NUMBER << 3 | WireReader.LENGTH_DELIMITED;
  private static final int MAX_EVENT_TIME =
      FeatureRow.MAX_EVENT_TIME_MS_FIELD_NUMBER << 3 | WireReader.VARINT;
  private static final int SOURCE_PARTITION =
      FeatureRow.SOURCE_PARTITION_FIELD_NUMBER << 3 | WireReader.VARINT;
  private static final int SOURCE_NEXT_OFFSET =
      FeatureRow.SOURCE_NEXT_OFFSET_FIELD_NUMBER << 3 | WireReader.VARINT;
  private static final int ENTRY_KEY = 1 << 3 | WireReader.LENGTH_DELIMITED;
  private static final int ENTRY_VALUE = 2 << 3 | WireReader.LENGTH_DELIMITED;
  private static final int COUNT = ColumnPartial.COUNT_FIELD_NUMBER << 3 | WireReader.VARINT;
  private static final int SUM = ColumnPartial.SUM_FIELD_NUMBER << 3 | WireReader.FIXED64;
  private static final int SUM_SQUARES =
      ColumnPartial.SUM_SQUARES_FIELD_NUMBER << 3 | WireReader.FIXED64;
  private static final int MIN = ColumnPartial.MIN_FIELD_NUMBER << 3 | WireReader.FIXED64;
  private static final int MAX = ColumnPartial.MAX_FIELD_NUMBER << 3 | WireReader.FIXED64;
  private static final int LAST =
      ColumnPartial.LAST_FIELD_NUMBER << 3 | WireReader.LENGTH_DELIMITED;
  private static final int LAST_TIME =
      ColumnPartial.LAST_TIME_MS_FIELD_NUMBER << 3 | WireReader.VARINT;
  private static final int HLL_SKETCH =
      ColumnPartial.HLL_SKETCH_FIELD_NUMBER << 3 | WireReader.LENGTH_DELIMITED;

  private final WireReader in = new WireReader();
  private int size;
  private int[] order = new int[0];
  private long[] tileStart = new long[0];
  private long[] eventCount = new long[0];
  private long[] maxEventTime = new long[0];
  private int[] sourcePartition = new int[0];
  private long[] sourceNextOffset = new long[0];
  private boolean[] present = new boolean[0];
  private long[] count = new long[0];
  private double[] sum = new double[0];
  private double[] sumSquares = new double[0];
  private double[] min = new double[0];
  private double[] max = new double[0];
  private long[] lastTime = new long[0];
  private Value[] last = new Value[0];
  private byte[][] sketch = new byte[0][];

  public ServingTiles(ViewSpec view) {
    this.view = view;
    this.columns = view.columns();
    this.width = columns.size();
    this.columnNames = new byte[width][];
    this.keepsLast = new boolean[width];
    this.keepsSketch = new boolean[width];
    for (int c = 0; c < width; c++) {
      String column = columns.get(c);
      columnNames[c] = column.getBytes(StandardCharsets.UTF_8);
      keepsSketch[c] = view.sketches(column);
      for (FeatureDef f : view.features().values()) {
        keepsLast[c] |= f.aggregation() == Aggregation.LAST && f.column().orElse("").equals(column);
      }
    }
  }

  public ViewSpec view() {
    return view;
  }

  /** The column's index in this view's tiles, or -1 for a feature that counts events. */
  public int columnOf(FeatureDef feature) {
    return feature.column().map(columns::indexOf).orElse(-1);
  }

  public void clear() {
    size = 0;
  }

  public int size() {
    return size;
  }

  /**
   * Decodes one stored {@code FeatureRow}. Partials of columns the view does not declare are
   * skipped; so are unknown fields.
   *
   * @throws IOException when the bytes are not a {@code FeatureRow}
   */
  public void add(byte[] row) throws IOException {
    add(ByteBuffer.wrap(row));
  }

  /**
   * As {@link #add(byte[])}, from the buffer's position to its limit (heap or direct: a store can
   * read into one reused direct buffer).
   */
  public void add(ByteBuffer row) throws IOException {
    grow(size + 1);
    int t = size;
    clearTile(t);
    WireReader in = this.in;
    in.reset(row);
    while (!in.atEnd()) {
      int tag = in.readTag();
      switch (tag) {
        case TILE_START -> tileStart[t] = in.readVarint();
        case EVENT_COUNT -> eventCount[t] = in.readVarint();
        case COLUMNS -> readColumn(in, t);
        case MAX_EVENT_TIME -> maxEventTime[t] = in.readVarint();
        case SOURCE_PARTITION -> sourcePartition[t] = (int) in.readVarint();
        case SOURCE_NEXT_OFFSET -> sourceNextOffset[t] = in.readVarint();
        default -> in.skipField(tag);
      }
    }
    // Stored tiles arrive in key order, which is tile order; any other order is put right here,
    // since window sums must be merged in tile order.
    int at = size;
    while (at > 0 && tileStart[order[at - 1]] > tileStart[t]) {
      order[at] = order[at - 1];
      at--;
    }
    order[at] = t;
    size++;
  }

  /**
   * A map entry of {@code columns}: protobuf encodes each as a message with the key in field 1 and
   * the {@code ColumnPartial} in field 2.
   */
  private void readColumn(WireReader in, int t) throws IOException {
    int outer = in.pushLimit(in.readLength());
    int c = -1;
    while (!in.atEnd()) {
      int tag = in.readTag();
      switch (tag) {
        case ENTRY_KEY -> {
          int length = in.readLength();
          c = columnAt(in.buffer(), in.position(), length);
          in.skipBytes(length);
        }
        case ENTRY_VALUE -> {
          if (c < 0) {
            in.skipField(tag);
          } else {
            readPartial(in, t * width + c, c);
          }
        }
        default -> in.skipField(tag);
      }
    }
    in.popLimit(outer);
  }

  private int columnAt(ByteBuffer row, int offset, int length) {
    for (int c = 0; c < width; c++) {
      byte[] name = columnNames[c];
      if (name.length != length) {
        continue;
      }
      int j = 0;
      while (j < length && row.get(offset + j) == name[j]) {
        j++;
      }
      if (j == length) {
        return c;
      }
    }
    return -1;
  }

  private void readPartial(WireReader in, int i, int c) throws IOException {
    int outer = in.pushLimit(in.readLength());
    present[i] = true;
    while (!in.atEnd()) {
      int tag = in.readTag();
      switch (tag) {
        case COUNT -> count[i] = in.readVarint();
        case SUM -> sum[i] = in.readDouble();
        case SUM_SQUARES -> sumSquares[i] = in.readDouble();
        case MIN -> min[i] = in.readDouble();
        case MAX -> max[i] = in.readDouble();
        case LAST -> {
          if (keepsLast[c]) {
            int length = in.readLength();
            ByteBuffer value = in.buffer().duplicate();
            value.limit(in.position() + length).position(in.position());
            last[i] = Value.parseFrom(value);
            in.skipBytes(length);
          } else {
            in.skipField(tag);
          }
        }
        case LAST_TIME -> lastTime[i] = in.readVarint();
        case HLL_SKETCH -> {
          if (keepsSketch[c]) {
            byte[] bytes = in.readBytes();
            sketch[i] = bytes.length == 0 ? null : bytes;
          } else {
            in.skipField(tag);
          }
        }
        default -> in.skipField(tag);
      }
    }
    in.popLimit(outer);
  }

  private void clearTile(int t) {
    tileStart[t] = 0;
    eventCount[t] = 0;
    maxEventTime[t] = 0;
    sourcePartition[t] = 0;
    sourceNextOffset[t] = 0;
    for (int i = t * width; i < (t + 1) * width; i++) {
      present[i] = false;
      count[i] = 0;
      sum[i] = 0;
      sumSquares[i] = 0;
      min[i] = 0;
      max[i] = 0;
      lastTime[i] = 0;
      last[i] = null;
      sketch[i] = null;
    }
  }

  private void grow(int tiles) {
    if (tiles <= tileStart.length) {
      return;
    }
    int n = Math.max(tiles, Math.max(16, tileStart.length * 2));
    order = Arrays.copyOf(order, n);
    tileStart = Arrays.copyOf(tileStart, n);
    eventCount = Arrays.copyOf(eventCount, n);
    maxEventTime = Arrays.copyOf(maxEventTime, n);
    sourcePartition = Arrays.copyOf(sourcePartition, n);
    sourceNextOffset = Arrays.copyOf(sourceNextOffset, n);
    present = Arrays.copyOf(present, n * width);
    count = Arrays.copyOf(count, n * width);
    sum = Arrays.copyOf(sum, n * width);
    sumSquares = Arrays.copyOf(sumSquares, n * width);
    min = Arrays.copyOf(min, n * width);
    max = Arrays.copyOf(max, n * width);
    lastTime = Arrays.copyOf(lastTime, n * width);
    last = Arrays.copyOf(last, n * width);
    sketch = Arrays.copyOf(sketch, n * width);
  }

  // Accessors by position in tile order (0 = oldest).

  public long tileStart(int k) {
    return tileStart[order[k]];
  }

  public int sourcePartition(int k) {
    return sourcePartition[order[k]];
  }

  public long sourceNextOffset(int k) {
    return sourceNextOffset[order[k]];
  }

  long eventCount(int k) {
    return eventCount[order[k]];
  }

  long maxEventTime(int k) {
    return maxEventTime[order[k]];
  }

  /** Index of tile {@code k}'s partial of column {@code c}, or -1 when the tile has none. */
  int partial(int k, int c) {
    int i = order[k] * width + c;
    return present[i] ? i : -1;
  }

  long count(int i) {
    return count[i];
  }

  double sum(int i) {
    return sum[i];
  }

  double sumSquares(int i) {
    return sumSquares[i];
  }

  double min(int i) {
    return min[i];
  }

  double max(int i) {
    return max[i];
  }

  Value last(int i) {
    return last[i] == null ? Value.getDefaultInstance() : last[i];
  }

  long lastTime(int i) {
    return lastTime[i];
  }

  byte[] sketch(int i) {
    return sketch[i];
  }
}
