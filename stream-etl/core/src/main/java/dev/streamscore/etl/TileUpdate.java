package dev.streamscore.etl;

import dev.streamscore.proto.v1.FeatureRow;

/**
 * A tile an event changed. Its {@link FeatureRow} is built only when asked for, so an engine that
 * coalesces changes (and writes only a tile's latest row) pays for one row per write, not one per
 * event. The tile may be folded in place by the entity's next event: ask for the row before that,
 * or keep only a tile's latest update (asking a superseded one fails). Not thread-safe.
 */
public final class TileUpdate {
  private final Tiles tile;
  private final String entityId;
  private final long tileStartMs;
  private final long updatedAtMs;
  private final String producer;
  private final SourcePosition position;
  private final long version;
  private FeatureRow row;
  private byte[] bytes;

  TileUpdate(
      Tiles tile,
      String entityId,
      long tileStartMs,
      long updatedAtMs,
      String producer,
      SourcePosition position) {
    this.tile = tile;
    this.entityId = entityId;
    this.tileStartMs = tileStartMs;
    this.updatedAtMs = updatedAtMs;
    this.producer = producer;
    this.position = position;
    this.version = tile.eventCount;
  }

  /** The view's name. */
  public String view() {
    return tile.view.spec().name();
  }

  /** The view's topic, {@code features.<view>}. */
  public String topic() {
    return tile.view.spec().topic();
  }

  public String entityId() {
    return entityId;
  }

  public long tileStartMs() {
    return tileStartMs;
  }

  /** The tile's new version: the events folded into it. */
  public long version() {
    return version;
  }

  /** The tile's new row. */
  public FeatureRow row() {
    if (row == null) {
      current();
      row = tile.toRow(entityId, tileStartMs, updatedAtMs, producer, position);
    }
    return row;
  }

  /** The row serialized (written straight from the tile, without building the row). */
  public byte[] bytes() {
    if (bytes == null) {
      if (row != null) {
        bytes = row.toByteArray();
      } else {
        current();
        bytes = RowWriter.write(tile, entityId, tileStartMs, updatedAtMs, producer, position);
      }
    }
    return bytes;
  }

  private void current() {
    if (tile.eventCount != version) {
      throw new IllegalStateException(
          "the tile of this update has had events folded in since; ask for a row before the"
              + " entity's next event, or keep only the tile's latest update");
    }
  }
}
