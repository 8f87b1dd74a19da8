package dev.streamscore.benchmarks;

import dev.streamscore.etl.FeatureProcessor;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.InMemoryEntityState;
import dev.streamscore.etl.SeenIdStore;
import dev.streamscore.proto.v1.Event;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The ETL's keyed state per entity after N events of {@code EtlThroughput}'s stream, in both
 * layouts the core offers an engine: one value per entity holding its seen event ids (Spark's group
 * state), and the value without them beside one map entry per id (the Flink job). Bytes are what
 * the engine stores: the value, and per id entry its key (key group, entity, id) and value.
 *
 * <pre>
 * java -cp benchmarks/target/streamscore-benchmarks.jar \
 *     dev.streamscore.benchmarks.EtlStateSize [events=1000000]
 * </pre>
 */
public final class EtlStateSize {

  public static void main(String[] args) {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    List<Event> events = EtlThroughput.generate(n);
    FeatureProcessor processor =
        FeatureProcessor.of(FeatureSpec.shippedPayments(), "payments", "bench");
    Map<String, InMemoryEntityState> inside = new HashMap<>();
    Map<String, InMemoryEntityState> outside = new HashMap<>();
    Map<String, CountingIds> ids = new HashMap<>();
    for (Event e : events) {
      String entity = e.getEntityId();
      processor.process(inside.computeIfAbsent(entity, k -> new InMemoryEntityState()), e, 0);
      CountingIds entityIds = ids.computeIfAbsent(entity, CountingIds::new);
      processor.process(
          outside.computeIfAbsent(entity, k -> new InMemoryEntityState(entityIds)), e, 0);
    }
    long[] one = new long[inside.size()];
    long[] split = new long[inside.size()];
    int i = 0;
    for (String entity : inside.keySet()) {
      one[i] = inside.get(entity).toBytes().length;
      split[i] = outside.get(entity).toBytes().length + ids.get(entity).bytes();
      i++;
    }
    System.out.printf(
        Locale.ROOT, "%,d events, %,d entities; bytes per entity: mean, median, p99, max%n", n, i);
    report("one value, seen ids inside", one);
    report("value + one entry per seen id", split);
  }

  private static void report(String layout, long[] sizes) {
    long[] sorted = sizes.clone();
    Arrays.sort(sorted);
    long sum = Arrays.stream(sorted).sum();
    System.out.printf(
        Locale.ROOT,
        "  %-32s %,8.0f %,8d %,10d %,12d  (%,.1f MB in all)%n",
        layout,
        (double) sum / sorted.length,
        sorted[sorted.length / 2],
        sorted[(int) (sorted.length * 0.99)],
        sorted[sorted.length - 1],
        sum / 1e6);
  }

  /** An engine's map of seen ids, counting the bytes its entries take. */
  private static final class CountingIds implements SeenIdStore {
    private final int keyPrefix;
    private final Map<String, Long> ids = new HashMap<>();

    CountingIds(String entity) {
      // Flink's RocksDB key: key group (2 bytes), the entity as a string, the namespace (1 byte).
      this.keyPrefix = 2 + 1 + entity.getBytes(StandardCharsets.UTF_8).length + 1;
    }

    @Override
    public long seenAt(String eventId) {
      return ids.getOrDefault(eventId, Long.MIN_VALUE);
    }

    @Override
    public void markSeen(String eventId, long eventTimeMs) {
      ids.put(eventId, eventTimeMs);
    }

    @Override
    public void forgetBefore(long eventTimeMs) {
      ids.values().removeIf(t -> t < eventTimeMs);
    }

    long bytes() {
      long bytes = 0;
      for (String id : ids.keySet()) {
        bytes += keyPrefix + 1 + id.getBytes(StandardCharsets.UTF_8).length + 8 + 1;
      }
      return bytes;
    }
  }
}
