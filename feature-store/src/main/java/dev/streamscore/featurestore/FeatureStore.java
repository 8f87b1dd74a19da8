package dev.streamscore.featurestore;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.streamscore.etl.FeatureDef;
import dev.streamscore.etl.FeatureRef;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.ServingTiles;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.etl.Windows;
import dev.streamscore.proto.v1.EntityFeatures;
import dev.streamscore.proto.v1.EntityStatus;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.FeatureStatus;
import dev.streamscore.proto.v1.FeatureValue;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.LRUCache;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The online feature store: one RocksDB database with a column family per view holding tile rows,
 * and one ({@code offsets}) holding the source offsets they were read up to. Window values are
 * computed at read time by merging the window's tiles through the core's {@link Windows} — the same
 * code the engines and the replay use.
 *
 * <p>Writes keep the greatest version of each tile, so replays and at-least-once writers are
 * harmless, and put the rows and their source offsets in one {@code WriteBatch}: after a crash the
 * store holds exactly the rows up to the offsets it reports. Rows of an incompatible view
 * definition (another fingerprint) are refused. Tiles that no window can reach any more (older than
 * the view's longest window plus its allowed lateness and one tile, before the entity's newest
 * tile) are removed by {@link #dropUnreachableTiles()}, which the materializer runs periodically —
 * not on every write: range tombstones per write made every later seek slower.
 *
 * <p>Thread-safe: reads run concurrently with each other and with a write; a write excludes other
 * writes. After {@link #close()} every call throws {@link IllegalStateException}. Close order:
 * column family handles, the database, then the options objects they were made from and the block
 * cache (256 MiB).
 */
public final class FeatureStore implements AutoCloseable {
  static {
    RocksDB.loadLibrary();
  }

  private static final String OFFSETS = "offsets";

  private final String name;
  private final Map<String, ViewSpec> views;
  private final Map<String, String> fingerprints = new HashMap<>();
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions cfOptions;
  private final LRUCache blockCache;

  /** The block cache shared by the views' column families. */
  static final long BLOCK_CACHE_BYTES = 256L << 20;

  private final RocksDB db;
  private final List<ColumnFamilyHandle> handles;
  private final Map<String, ColumnFamilyHandle> viewFamilies = new HashMap<>();
  private final ColumnFamilyHandle offsetFamily;
  private final WriteOptions writeOptions;
  private final ReadOptions readOptions;

  /**
   * Held shared by every call that touches the database and exclusively by {@link #close()}: a
   * closed database must never be touched. Writes take it shared too — RocksDB readers see a {@code
   * WriteBatch} whole or not at all — so lookups never wait for the materializer.
   */
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  /** Serializes writers: a write reads each tile's stored version before it replaces it. */
  private final Object writer = new Object();

  private volatile boolean closed;

  /** Set once the materializer knows the topics' partitions; every entity until then. */
  private volatile Ownership ownership = Ownership.ALL;

  /** What one {@link #write} did. */
  public record WriteResult(int written, int superseded, int refused) {}

  /**
   * How far the rows written from one events partition have got: the greatest {@code
   * source_next_offset} among them, and the append time of the event before it.
   */
  public record Applied(long nextOffset, long appendedMs) {}

  /** Where the rows stand in the events logs. */
  private final LogPositions positions;

  private final ThreadLocal<ServingReader> servingReaders =
      ThreadLocal.withInitial(ServingReader::new);

  private FeatureStore(Path dir, FeatureSpec spec) {
    this.name = dir.toAbsolutePath().toString();
    this.views = new LinkedHashMap<>(spec.views());
    this.positions = new LogPositions(views.values());
    for (ViewSpec view : views.values()) {
      fingerprints.put(view.name(), view.fingerprint(spec.source(view.source()).orElseThrow()));
    }
    this.dbOptions = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true);
    // Lookups read a few adjacent keys of one entity: keep hot blocks and the index in memory
    // (RocksDB's default block cache is 8 MiB, far below a million entities' tiles).
    this.blockCache = new LRUCache(BLOCK_CACHE_BYTES);
    this.cfOptions =
        new ColumnFamilyOptions()
            .setTableFormatConfig(
                new BlockBasedTableConfig()
                    .setBlockCache(blockCache)
                    .setBlockSize(4 * 1024)
                    .setCacheIndexAndFilterBlocks(true)
                    .setPinL0FilterAndIndexBlocksInCache(true))
            // Tile rows are small and lookups random: decompressing a block per miss cost more
            // than the memory it saves.
            .setCompressionType(CompressionType.NO_COMPRESSION);
    this.writeOptions = new WriteOptions();
    this.readOptions = new ReadOptions();
    List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
    descriptors.add(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions));
    descriptors.add(new ColumnFamilyDescriptor(bytes(OFFSETS), cfOptions));
    for (String view : views.keySet()) {
      descriptors.add(new ColumnFamilyDescriptor(bytes("view." + view), cfOptions));
    }
    this.handles = new ArrayList<>();
    try {
      Files.createDirectories(dir);
      this.db = RocksDB.open(dbOptions, name, descriptors, handles);
    } catch (RocksDBException | java.io.IOException e) {
      handles.forEach(ColumnFamilyHandle::close);
      closeOptions();
      throw new FeatureStoreException(name, "open the database", e);
    }
    this.offsetFamily = handles.get(1);
    int i = 2;
    for (String view : views.keySet()) {
      viewFamilies.put(view, handles.get(i++));
    }
    try (RocksIterator it = db.newIterator(offsetFamily)) {
      for (it.seek(bytes(LogPositions.KEY_PREFIX)); it.isValid(); it.next()) {
        if (!positions.load(it.key(), it.value())) {
          break;
        }
      }
    }
  }

  /**
   * Opens (creating if needed) the store in {@code dir} for the views of {@code spec}. Column
   * families of views the spec no longer declares are left alone.
   *
   * @throws FeatureStoreException when RocksDB cannot open it (another process holds it, ...)
   */
  public static FeatureStore open(Path dir, FeatureSpec spec) {
    return new FeatureStore(dir, spec);
  }

  /** Which entities this replica holds. */
  public Ownership ownership() {
    return ownership;
  }

  /** Declares which entities this replica holds: what its materializer reads. */
  void own(Ownership ownership) {
    this.ownership = java.util.Objects.requireNonNull(ownership, "ownership");
  }

  /**
   * Writes tile rows and the source offsets they were read up to, in one atomic batch. A row
   * replaces the stored one only if its version is greater; within the call the greatest version of
   * each tile wins.
   *
   * @param sourceOffsets next offset to read per source partition, stored with the rows
   */
  public WriteResult write(Collection<FeatureRow> rows, Map<SourcePartition, Long> sourceOffsets) {
    ensureOpen();
    Map<String, Map<String, FeatureRow>> newest = new HashMap<>();
    int refused = 0;
    int superseded;
    for (FeatureRow row : rows) {
      String fingerprint = fingerprints.get(row.getView());
      if (fingerprint == null || !fingerprint.equals(row.getSpecFingerprint())) {
        refused++;
        continue;
      }
      newest
          .computeIfAbsent(row.getView(), v -> new HashMap<>())
          .merge(
              row.getEntityId() + '@' + row.getTileStartMs(),
              row,
              (a, b) -> a.getVersion() >= b.getVersion() ? a : b);
    }
    Map<SourcePartition, Applied> reached = positions.reached(newest.values());
    int distinct = newest.values().stream().mapToInt(Map::size).sum();
    superseded = rows.size() - refused - distinct;
    synchronized (writer) {
      lock.readLock().lock();
      try {
        ensureOpen(); // before any native call: a closed database must not be touched
        WriteResult result = writeBatch(newest, sourceOffsets, reached, superseded, refused);
        positions.applied(reached);
        return result;
      } catch (RocksDBException e) {
        throw new FeatureStoreException(name, "write a batch of " + rows.size() + " rows", e);
      } finally {
        lock.readLock().unlock();
      }
    }
  }

  private WriteResult writeBatch(
      Map<String, Map<String, FeatureRow>> newest,
      Map<SourcePartition, Long> sourceOffsets,
      Map<SourcePartition, Applied> reached,
      int superseded,
      int refused)
      throws RocksDBException {
    try (WriteBatch batch = new WriteBatch()) {
      int written = 0;
      for (Map.Entry<String, Map<String, FeatureRow>> byView : newest.entrySet()) {
        ViewSpec view = views.get(byView.getKey());
        ColumnFamilyHandle family = viewFamilies.get(view.name());
        for (FeatureRow row : byView.getValue().values()) {
          byte[] key = TileKey.of(row.getEntityId(), row.getTileStartMs());
          byte[] stored = db.get(family, key);
          if (stored != null && parse(stored).getVersion() >= row.getVersion()) {
            superseded++;
            continue;
          }
          batch.put(family, key, row.toByteArray());
          written++;
        }
      }
      for (Map.Entry<SourcePartition, Long> offset : sourceOffsets.entrySet()) {
        batch.put(
            offsetFamily,
            bytes(offset.getKey().toString()),
            ByteBuffer.allocate(8).putLong(offset.getValue()).array());
      }
      for (Map.Entry<SourcePartition, Applied> at : reached.entrySet()) {
        batch.put(offsetFamily, LogPositions.key(at.getKey()), LogPositions.value(at.getValue()));
      }
      db.write(writeOptions, batch);
      return new WriteResult(written, superseded, refused);
    }
  }

  /**
   * Deletes, for every entity of every view, the tiles that start more than the view's longest
   * window plus its allowed lateness and one tile before the entity's newest tile: no window can
   * reach them any more. Scans each view once; returns how many tiles were deleted.
   */
  public long dropUnreachableTiles() {
    long dropped = 0;
    for (ViewSpec view : views.values()) {
      ColumnFamilyHandle family = viewFamilies.get(view.name());
      long keep = view.longestWindowMs() + view.allowedLatenessMs() + view.tileMs();
      List<byte[]> unreachable = new ArrayList<>();
      lock.readLock().lock();
      try {
        ensureOpen();
        try (RocksIterator it = db.newIterator(family, readOptions)) {
          it.seekToLast();
          byte[] entity = null;
          long newest = 0;
          // Backwards, so each entity's newest tile comes first.
          for (; it.isValid(); it.prev()) {
            byte[] key = it.key();
            byte[] prefix = java.util.Arrays.copyOf(key, key.length - 8);
            if (entity == null || !java.util.Arrays.equals(prefix, entity)) {
              entity = prefix;
              newest = TileKey.tileStart(key);
            } else if (TileKey.tileStart(key) < newest - keep) {
              unreachable.add(key);
            }
          }
        }
      } finally {
        lock.readLock().unlock();
      }
      if (unreachable.isEmpty()) {
        continue;
      }
      synchronized (writer) {
        lock.readLock().lock();
        try (WriteBatch batch = new WriteBatch()) {
          ensureOpen();
          for (byte[] key : unreachable) {
            batch.delete(family, key);
          }
          db.write(writeOptions, batch);
          dropped += unreachable.size();
        } catch (RocksDBException e) {
          throw new FeatureStoreException(name, "drop unreachable tiles of " + view.name(), e);
        } finally {
          lock.readLock().unlock();
        }
      }
    }
    return dropped;
  }

  /**
   * Compacts every view's tiles fully: after a bulk load (a bootstrap), so that reads do not share
   * the machine with background compactions and find each key in one sorted run. Blocks until done.
   */
  public void compact() {
    lock.readLock().lock();
    try {
      ensureOpen();
      for (ColumnFamilyHandle family : viewFamilies.values()) {
        db.compactRange(family);
      }
    } catch (RocksDBException e) {
      throw new FeatureStoreException(name, "compact", e);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** The source offsets stored with the rows, by source partition. */
  public Map<SourcePartition, Long> offsets() {
    lock.readLock().lock();
    try {
      ensureOpen(); // before any native call: a closed database must not be touched
      try (RocksIterator it = db.newIterator(offsetFamily)) {
        Map<SourcePartition, Long> offsets = new LinkedHashMap<>();
        for (it.seekToFirst(); it.isValid(); it.next()) {
          if (LogPositions.isKey(it.key())) {
            continue;
          }
          offsets.put(
              SourcePartition.parse(new String(it.key(), StandardCharsets.UTF_8)),
              ByteBuffer.wrap(it.value()).getLong());
        }
        return offsets;
      }
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * The stored tiles of an entity in a view that start in {@code [fromMs, toMs)}, oldest first.
   *
   * @throws IllegalArgumentException for a view the spec does not declare
   */
  public List<FeatureRow> tiles(String view, String entityId, long fromMs, long toMs) {
    ColumnFamilyHandle family = family(view);
    List<FeatureRow> rows = new ArrayList<>();
    if (fromMs >= toMs) {
      return rows;
    }
    lock.readLock().lock();
    try {
      ensureOpen(); // before the iterator: RocksDB crashes on an iterator of a closed database
      try (RocksIterator it = db.newIterator(family, readOptions)) {
        byte[] upper = TileKey.of(entityId, toMs);
        for (it.seek(TileKey.of(entityId, fromMs)); it.isValid(); it.next()) {
          if (java.util.Arrays.compareUnsigned(it.key(), upper) >= 0) {
            break;
          }
          rows.add(parse(it.value()));
        }
        return rows;
      }
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * One feature's value for an entity at {@code asOfMs}, from the tiles of its window. Exact when
   * {@code asOfMs} is a tile boundary, and at any time when no event of the current tile is at or
   * after it (as for now).
   *
   * @param feature {@code view:feature}
   * @throws IllegalArgumentException naming an unknown view or feature
   */
  public FeatureValue value(String feature, String entityId, long asOfMs) {
    return vector(entityId, List.of(feature), asOfMs).getValues(0);
  }

  /**
   * An entity's values of several features at {@code asOfMs}, in the given order, with a summary
   * status: COMPLETE when every value is OK, UNKNOWN when the store holds no tile of the entity in
   * any requested view's window, PARTIAL otherwise. Each view's tiles are read once.
   */
  public EntityFeatures vector(String entityId, List<String> features, long asOfMs) {
    return vectors(List.of(entityId), features, asOfMs).get(0);
  }

  /**
   * {@link #vector} for each entity, in order. The batch reads one consistent snapshot: one
   * iterator per view serves every entity's seek, which is also what makes a batch cheaper per
   * entity than single lookups.
   */
  public List<EntityFeatures> vectors(List<String> entityIds, List<String> features, long asOfMs) {
    return lookup(features).vectors(entityIds, asOfMs);
  }

  /**
   * Prepares reads of {@code features} ({@code view:feature}, in this order), resolving the names
   * once: for callers that read the same features many times.
   *
   * @throws IllegalArgumentException naming an unknown view or feature
   */
  public Lookup lookup(List<String> features) {
    return new Lookup(features.stream().map(this::resolve).toList());
  }

  /** Reads of a fixed list of features; thread-safe, valid until the store closes. */
  public final class Lookup {
    private final List<Resolved> resolved;

    /** Per feature, the index of its view in {@link #viewNames}. */
    private final int[] viewOf;

    private final List<String> viewNames = new ArrayList<>();

    /** Per feature, its column in its view's serving tiles (-1: a count of events). */
    private final int[] columnOf;

    /** Per view (as in {@link #viewNames}), the longest window: how far back its tiles are read. */
    private final long[] longestWindowMs;

    private Lookup(List<Resolved> resolved) {
      this.resolved = resolved;
      this.viewOf = new int[resolved.size()];
      this.columnOf = new int[resolved.size()];
      for (int i = 0; i < resolved.size(); i++) {
        Resolved r = resolved.get(i);
        String view = r.view.name();
        int at = viewNames.indexOf(view);
        if (at < 0) {
          at = viewNames.size();
          viewNames.add(view);
        }
        viewOf[i] = at;
        columnOf[i] = r.feature.column().map(r.view.columns()::indexOf).orElse(-1);
      }
      this.longestWindowMs = new long[viewNames.size()];
      for (int i = 0; i < resolved.size(); i++) {
        longestWindowMs[viewOf[i]] = resolved.get(i).view.longestWindowMs();
      }
    }

    /** As {@link FeatureStore#vectors}, for this lookup's features. */
    public List<EntityFeatures> vectors(List<String> entityIds, long asOfMs) {
      RocksIterator[] iterators = new RocksIterator[viewNames.size()];
      lock.readLock().lock();
      try {
        ensureOpen();
        for (int v = 0; v < iterators.length; v++) {
          iterators[v] = db.newIterator(viewFamilies.get(viewNames.get(v)), readOptions);
        }
        List<EntityFeatures> out = new ArrayList<>(entityIds.size());
        for (String entity : entityIds) {
          out.add(vector(entity, asOfMs, iterators));
        }
        return out;
      } finally {
        for (RocksIterator it : iterators) {
          if (it != null) {
            it.close();
          }
        }
        lock.readLock().unlock();
      }
    }

    private EntityFeatures vector(String entityId, long asOfMs, RocksIterator[] its) {
      ServingTiles[] tilesByView = new ServingTiles[its.length];
      EntityFeatures.Builder out = EntityFeatures.newBuilder().setEntityId(entityId);
      boolean allOk = true;
      boolean anyTile = false;
      for (int i = 0; i < resolved.size(); i++) {
        Resolved r = resolved.get(i);
        int v = viewOf[i];
        ServingTiles tiles = tilesByView[v];
        if (tiles == null) {
          long from = r.view.tileStart(asOfMs) - longestWindowMs[v];
          tiles = servingReaders.get().read(its[v], r.view, entityId, from, asOfMs, name);
          tilesByView[v] = tiles;
        }
        anyTile |= tiles.size() > 0;
        FeatureValue value = Windows.value(r.view, r.feature, columnOf[i], tiles, asOfMs);
        allOk &= value.getStatus() == FeatureStatus.FEATURE_STATUS_OK;
        out.addValues(value);
      }
      positions.addTo(out, tilesByView);
      out.setStatus(
          !anyTile
              ? EntityStatus.ENTITY_STATUS_UNKNOWN
              : allOk ? EntityStatus.ENTITY_STATUS_COMPLETE : EntityStatus.ENTITY_STATUS_PARTIAL);
      return out.build();
    }
  }

  /** How far the rows written from an events partition have got; empty before its first row. */
  public Optional<Applied> applied(SourcePartition partition) {
    return positions.applied(partition);
  }

  /** The events topics the views aggregate. */
  Set<String> sourceTopics() {
    return positions.sourceTopics();
  }

  private record Resolved(ViewSpec view, FeatureDef feature) {}

  private Resolved resolve(String qualified) {
    FeatureRef ref = FeatureRef.parse(qualified);
    return new Resolved(ref.viewIn(views), ref.definitionIn(views));
  }

  private ColumnFamilyHandle family(String view) {
    ColumnFamilyHandle family = viewFamilies.get(view);
    if (family == null) {
      throw new IllegalArgumentException(
          String.format(
              "the store holds no view '%s' (views: %s)", view, String.join(", ", views.keySet())));
    }
    return family;
  }

  private FeatureRow parse(byte[] bytes) {
    try {
      return FeatureRow.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new FeatureStoreException(name, "read a stored tile row", e);
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("feature store " + name + " is closed");
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** The options objects and the block cache, after the handles and the database that use them. */
  private void closeOptions() {
    readOptions.close();
    writeOptions.close();
    cfOptions.close();
    blockCache.close();
    dbOptions.close();
  }

  /** Closes the column family handles, the database, then the options. Idempotent. */
  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      handles.forEach(ColumnFamilyHandle::close);
      db.close();
      closeOptions();
    } finally {
      lock.writeLock().unlock();
    }
  }
}
