package dev.streamscore.benchmarks;

import dev.streamscore.etl.FeatureDef;
import dev.streamscore.etl.FeatureProcessor;
import dev.streamscore.etl.FeatureRef;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.InMemoryEntityState;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.etl.Windows;
import dev.streamscore.featurestore.FeatureNode;
import dev.streamscore.featurestore.FeatureStore;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.FeatureServiceGrpc;
import dev.streamscore.proto.v1.GetOnlineFeaturesRequest;
import dev.streamscore.proto.v1.Value;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.HdrHistogram.Histogram;
import org.apache.kafka.common.utils.Utils;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;

/**
 * Online feature lookups of every {@code user_txn} feature (11, merged from tiles at read time) for
 * entities drawn uniformly from 1M, in batches of 1, 10 and 100, closed loop on one thread:
 *
 * <ul>
 *   <li>the RocksDB store in-process ({@code FeatureStore.vectors});
 *   <li>the same over gRPC on loopback ({@code FeatureService.GetOnlineFeatures});
 *   <li>the baseline, in the same run: a real Redis ({@code redis-server}, Feast's default online
 *       store) holding the same tile rows as hashes ({@code HSET user_txn:<entity> <tile> <row>}),
 *       looked up over loopback with one pipelined {@code HGETALL} per entity, and the window
 *       values merged client-side by the same code.
 * </ul>
 *
 * <p>The store is compacted after the load, as the materializer does after bootstrapping. Every
 * path and batch size is warmed up untimed before any is measured.
 *
 * <pre>
 * java -Xmx3g -cp benchmarks/target/streamscore-benchmarks.jar \
 *     dev.streamscore.benchmarks.FeatureLookup [entities=1000000] [seconds=10]
 * </pre>
 */
public final class FeatureLookup {
  private static final FeatureSpec SPEC = FeatureSpec.shippedPayments();
  private static final ViewSpec VIEW = SPEC.views().get("user_txn");
  private static final long T0 = 1_764_000_000_000L;
  private static final long AS_OF = T0 + 3_600_000L;
  private static final int[] BATCHES = {1, 10, 100};
  private static final int WARMUP_SECONDS = 4;

  public static void main(String[] args) throws Exception {
    int entities = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    List<String> features =
        VIEW.features().keySet().stream()
            .map(f -> new FeatureRef(VIEW.name(), f).toString())
            .toList();
    Path dir = Files.createTempDirectory("lookup-bench");
    RedisServer redis = RedisServer.start();
    try (FeatureNode node =
            FeatureNode.start(
                new FeatureNode.Config(dir.resolve("store"), Optional.empty()),
                SPEC,
                Optional.of(ServerTransport.loopback(0)),
                () -> "",
                Clock.systemUTC());
        Jedis jedis = redis.connect()) {
      FeatureStore store = node.store();
      load(entities, store, jedis);
      {
        ManagedChannel channel =
            NettyChannelBuilder.forTarget(node.address().orElseThrow()).usePlaintext().build();
        var stub = FeatureServiceGrpc.newBlockingStub(channel);
        Map<String, Consumer<List<String>>> paths = new LinkedHashMap<>();
        paths.put("rocksdb in-process", ids -> store.vectors(ids, features, AS_OF));
        paths.put(
            "rocksdb over gRPC",
            ids ->
                stub.getOnlineFeatures(
                    GetOnlineFeaturesRequest.newBuilder()
                        .addAllFeatures(features)
                        .addAllEntityIds(ids)
                        .setAsOfMs(AS_OF)
                        .build()));
        paths.put("redis hashes, loopback", ids -> redis(jedis, ids));
        // An untimed pass over every path and batch first: gRPC's first seconds run interpreted
        // code and would otherwise count against whichever batch size happens to go first.
        for (int batch : BATCHES) {
          paths.forEach((path, lookup) -> run(batch, entities, WARMUP_SECONDS, lookup));
        }
        System.out.printf(
            Locale.ROOT,
            "%-28s %6s %14s %10s %10s%n",
            "path",
            "batch",
            "entities/s",
            "p50 us",
            "p99 us");
        for (int batch : BATCHES) {
          paths.forEach(
              (path, lookup) -> {
                Histogram latency = new Histogram(TimeUnit.SECONDS.toMicros(10), 3);
                long done = run(batch, entities, seconds, lookup, latency);
                System.out.printf(
                    Locale.ROOT,
                    "%-28s %6d %,14.0f %10d %10d%n",
                    path,
                    batch,
                    done / (double) seconds,
                    latency.getValueAtPercentile(50),
                    latency.getValueAtPercentile(99));
              });
        }
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } finally {
      redis.close();
      Utils.delete(dir.toFile());
    }
  }

  /** One event per entity, 2 s apart in event time, so every entity has one user_txn tile. */
  private static void load(int entities, FeatureStore store, Jedis jedis) {
    FeatureProcessor processor = FeatureProcessor.of(SPEC, "payments", "core");
    long began = System.nanoTime();
    try (BaselineLoader loader = new BaselineLoader(store, jedis, VIEW.name())) {
      for (int i = 0; i < entities; i++) {
        Event e =
            Event.newBuilder()
                .setSource("payments")
                .setEntityId("u" + i)
                .setEventId("t" + i)
                .setEventTimeMs(T0 + (i % 1_800) * 2_000L)
                .putFields("amount", Value.newBuilder().setDoubleValue(5 + i % 500).build())
                .putFields("merchant_id", Value.newBuilder().setStringValue("m" + i % 997).build())
                .putFields("country", Value.newBuilder().setStringValue("US").build())
                .build();
        loader.add(processor.process(new InMemoryEntityState(), e, T0).rows());
      }
    }
    System.out.printf(
        Locale.ROOT,
        "loaded %,d entities into RocksDB and Redis in %.1f s%n",
        entities,
        (System.nanoTime() - began) / 1e9);
  }

  private static Object redis(Jedis jedis, List<String> ids) {
    Pipeline pipeline = jedis.pipelined();
    List<Response<Map<byte[], byte[]>>> replies = new ArrayList<>(ids.size());
    for (String id : ids) {
      replies.add(pipeline.hgetAll(("user_txn:" + id).getBytes(StandardCharsets.UTF_8)));
    }
    pipeline.sync();
    List<Object> vectors = new ArrayList<>(ids.size());
    for (Response<Map<byte[], byte[]>> reply : replies) {
      List<FeatureRow> rows = new ArrayList<>();
      for (byte[] value : reply.get().values()) {
        try {
          rows.add(FeatureRow.parseFrom(value));
        } catch (IOException ex) {
          throw new IllegalStateException(ex);
        }
      }
      List<Object> values = new ArrayList<>();
      for (FeatureDef f : VIEW.features().values()) {
        values.add(Windows.value(VIEW, f, rows, AS_OF));
      }
      vectors.add(values);
    }
    return vectors;
  }

  private static void run(int batch, int entities, int seconds, Consumer<List<String>> lookup) {
    run(batch, entities, seconds, lookup, new Histogram(TimeUnit.SECONDS.toMicros(10), 3));
  }

  /** Looks up random batches for {@code seconds}; returns the entities looked up. */
  private static long run(
      int batch, int entities, int seconds, Consumer<List<String>> lookup, Histogram latency) {
    SplittableRandom random = new SplittableRandom(batch);
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    long done = 0;
    while (true) {
      List<String> ids = new ArrayList<>(batch);
      for (int i = 0; i < batch; i++) {
        ids.add("u" + random.nextInt(entities));
      }
      long t = System.nanoTime();
      lookup.accept(ids);
      long now = System.nanoTime();
      if (now > end) {
        return done;
      }
      latency.recordValue(TimeUnit.NANOSECONDS.toMicros(now - t));
      done += batch;
    }
  }
}
