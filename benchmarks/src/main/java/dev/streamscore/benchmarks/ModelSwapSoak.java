package dev.streamscore.benchmarks;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.modelsync.Lease;
import dev.streamscore.modelsync.ModelAlias;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.RegistryServer;
import dev.streamscore.modelsync.SyncAgent;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.v1.AliasState;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelVersionSpec;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.apache.kafka.common.utils.Utils;

/**
 * Hot-swap soak: a registry and {@code nodes} scoring-node sync agents in this JVM, two threads
 * predicting on every node the whole time, and {@code cycles} promotions alternating between two
 * Tribuo logistic regressions. Each promotion makes every node load the other version (ONNX Runtime
 * session, warm-up), swap it in and close the one it replaces once its last prediction has
 * finished. Reports the resident set size every 100 cycles (it must stay flat: within 10% or 50 MB
 * of its level after cycle 100), failed predictions (must be 0), and promote-to-serving latency:
 * from the {@code SetAlias} call until every node serves the new version.
 *
 * <p>Run it with a fixed, pre-touched heap so the resident set measures native memory (ONNX Runtime
 * sessions, DJL managers) rather than the heap filling up:
 *
 * <pre>
 * STREAMSCORE_LOG_LEVEL=WARN java -Xms256m -Xmx256m -XX:+AlwaysPreTouch \
 *     -cp benchmarks/target/streamscore-benchmarks.jar \
 *     dev.streamscore.benchmarks.ModelSwapSoak [cycles=1000] [nodes=2]
 * </pre>
 */
public final class ModelSwapSoak {
  private static final int WIDTH = 16;

  public static void main(String[] args) throws Exception {
    int cycles = args.length > 0 ? Integer.parseInt(args[0]) : 1_000;
    int nodes = args.length > 1 ? Integer.parseInt(args[1]) : 2;
    Path dir = Files.createTempDirectory("swap-soak");
    try (RegistryServer registry =
        RegistryServer.start(
            ServerTransport.loopback(0),
            dir.resolve("registry"),
            Optional.empty(),
            Clock.systemUTC())) {
      ManagedChannel channel =
          NettyChannelBuilder.forTarget(registry.address()).usePlaintext().build();
      RegistryClient client = new RegistryClient(channel, Optional.empty(), "soak");
      for (int v = 1; v <= 2; v++) {
        Path file = TestModels.logisticRegression(dir.resolve("v" + v + ".onnx"), WIDTH, v);
        client.register(file, spec());
      }
      AliasState first = client.promote("fraud", "prod", 1);

      List<SyncAgent> agents = new ArrayList<>();
      List<ManagedChannel> channels = new ArrayList<>();
      for (int n = 0; n < nodes; n++) {
        ManagedChannel c = NettyChannelBuilder.forTarget(registry.address()).usePlaintext().build();
        channels.add(c);
        agents.add(
            SyncAgent.start(
                SyncAgent.Config.of(
                    "node-" + n,
                    List.of(new ModelAlias("fraud", "prod")),
                    dir.resolve("cache-" + n)),
                c,
                FeatureSpec.shippedPayments(),
                Clock.systemUTC()));
      }
      awaitAll(agents, first.getRevision());

      AtomicBoolean running = new AtomicBoolean(true);
      AtomicLong predictions = new AtomicLong();
      AtomicLong failed = new AtomicLong();
      List<Thread> predictors = new ArrayList<>();
      for (SyncAgent agent : agents) {
        for (int t = 0; t < 2; t++) {
          Thread thread =
              new Thread(
                  () -> {
                    float[] input = new float[WIDTH];
                    long k = 0;
                    while (running.get()) {
                      try (Lease lease = agent.acquire("fraud", "prod", "user-" + k++)) {
                        lease.predict(input);
                        predictions.incrementAndGet();
                      } catch (RuntimeException e) {
                        failed.incrementAndGet();
                      }
                    }
                  });
          thread.setDaemon(true);
          thread.start();
          predictors.add(thread);
        }
      }

      Histogram promoteToServing = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
      long rssAt100 = 0;
      long began = System.nanoTime();
      System.out.printf(
          Locale.ROOT, "%8s %12s %14s %10s%n", "cycle", "rss MB", "predictions", "failed");
      for (int cycle = 1; cycle <= cycles; cycle++) {
        long t = System.nanoTime();
        AliasState state = client.promote("fraud", "prod", cycle % 2 == 1 ? 2 : 1);
        awaitAll(agents, state.getRevision());
        promoteToServing.recordValue(TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - t));
        if (cycle % 100 == 0) {
          long rss = rssKb();
          if (cycle == 100) {
            rssAt100 = rss;
          }
          System.out.printf(
              Locale.ROOT,
              "%8d %12.1f %,14d %10d%n",
              cycle,
              rss / 1024.0,
              predictions.get(),
              failed.get());
        }
      }
      running.set(false);
      for (Thread t : predictors) {
        t.join(10_000);
      }
      long rssEnd = rssKb();
      double seconds = (System.nanoTime() - began) / 1e9;
      long loaded = 0;
      long closed = 0;
      for (SyncAgent agent : agents) {
        SyncAgent.Stats s = agent.stats();
        loaded += s.versionsLoaded();
        closed += s.versionsClosed();
      }
      System.out.printf(
          Locale.ROOT,
          "%d promotions x %d nodes in %.1f s: %,d predictions, %d failed; versions loaded %d,"
              + " closed %d (open now %d)%n",
          cycles,
          nodes,
          seconds,
          predictions.get(),
          failed.get(),
          loaded,
          closed,
          loaded - closed);
      if (rssAt100 > 0) {
        double growth = rssEnd - rssAt100;
        System.out.printf(
            Locale.ROOT,
            "resident set: %.1f MB after cycle 100, %.1f MB at the end: %+.1f MB (%+.1f%%)%n",
            rssAt100 / 1024.0,
            rssEnd / 1024.0,
            growth / 1024.0,
            100.0 * growth / rssAt100);
      }
      System.out.printf(
          Locale.ROOT,
          "promote-to-serving on every node: p50 %.1f ms, p99 %.1f ms, max %.1f ms%n",
          promoteToServing.getValueAtPercentile(50) / 1000.0,
          promoteToServing.getValueAtPercentile(99) / 1000.0,
          promoteToServing.getMaxValue() / 1000.0);
      agents.forEach(SyncAgent::close);
      for (ManagedChannel c : channels) {
        c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    } finally {
      Utils.delete(dir.toFile());
    }
  }

  private static void awaitAll(List<SyncAgent> agents, long revision) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    for (SyncAgent agent : agents) {
      while (agent.servingRevision("fraud", "prod") < revision) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "revision " + revision + " not served after 60 s: " + agent.statuses());
        }
        Thread.onSpinWait();
      }
    }
  }

  private static ModelVersionSpec spec() {
    ModelVersionSpec.Builder spec =
        ModelVersionSpec.newBuilder().setName("fraud").setFormat(ModelFormat.MODEL_FORMAT_ONNX);
    for (int i = 0; i < WIDTH; i++) {
      spec.addInputs(ModelInput.newBuilder().setName("x" + i));
    }
    spec.addOutputs(ModelOutput.newBuilder().setName("p0"));
    spec.addOutputs(ModelOutput.newBuilder().setName("p1"));
    return spec.build();
  }

  /** VmRSS of this process from /proc, in KiB. */
  private static long rssKb() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IllegalStateException("no VmRSS in /proc/self/status");
  }
}
