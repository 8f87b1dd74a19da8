package dev.streamscore.benchmarks;

import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.RegistryServer;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.security.ClientSecurity;
import dev.streamscore.proto.security.ClientTls;
import dev.streamscore.proto.security.PolicyFile;
import dev.streamscore.proto.security.ServerSecurity;
import dev.streamscore.proto.security.ServerTls;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.PredictResponse;
import dev.streamscore.proto.v1.ScoringGrpc;
import dev.streamscore.scoring.ScoringNode;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.stub.StreamObserver;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.utils.Utils;

/**
 * The server side of {@link ScoringFloor}, in its own JVM (pinned to its own core by the caller): a
 * scoring node over a RocksDB store of {@code entities} users with the 9-input logistic regression
 * served as {@code fraud}, and beside it, on another port of the same process, a bare gRPC echo of
 * the same service: it parses the same {@code PredictRequest} and answers a canned {@code
 * PredictResponse} of a real answer's size, without store or model. That is the floor.
 *
 * <p>It prints {@code ready <node address> <echo address> <response bytes>} once serving, then
 * answers each {@code stats} line on stdin with {@code <process CPU ns> <bytes allocated>} (all
 * live threads' allocation counters summed; the server's threads are pooled, so none that served a
 * request has exited) and ends on {@code quit} or end of input.
 *
 * <p>With a second argument, a directory made by {@code streamscore certs init}, the node and the
 * echo serve TLS with its {@code server.pem}; with a third, {@code auth}, the node also checks each
 * call's bearer token against its {@code access.policy} ({@link ScoringFloor.Mode}).
 *
 * <pre>
 * java -cp benchmarks/target/streamscore-benchmarks.jar dev.streamscore.benchmarks.ScoringServerRole \
 *     [entities] [certs-dir [auth]]
 * </pre>
 */
public final class ScoringServerRole {
  private ScoringServerRole() {}

  /**
   * A server builder on loopback; {@code -Dfloor.eventLoopThreads=N} (N > 0) gives it its own epoll
   * event loop of N threads instead of gRPC's shared default (two per available core). The node and
   * the echo are built alike, so the floor moves with the setting.
   */
  private static NettyServerBuilder tuned(Optional<ServerSecurity> security) {
    InetSocketAddress address = new InetSocketAddress("127.0.0.1", 0);
    NettyServerBuilder builder =
        security.isPresent()
            ? NettyServerBuilder.forAddress(
                address, security.get().tls().orElseThrow().credentials())
            : NettyServerBuilder.forAddress(address);
    security.flatMap(ServerSecurity::accessControl).ifPresent(builder::intercept);
    int threads = Integer.getInteger("floor.eventLoopThreads", 0);
    if (threads > 0) {
      builder
          .bossEventLoopGroup(new EpollEventLoopGroup(1))
          .workerEventLoopGroup(new EpollEventLoopGroup(threads))
          .channelType(EpollServerSocketChannel.class);
    }
    return builder;
  }

  public static void main(String[] args) throws Exception {
    int entities = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    Optional<Path> certs = args.length > 1 ? Optional.of(Path.of(args[1])) : Optional.empty();
    boolean auth = args.length > 2 && args[2].equals("auth");
    Optional<ServerSecurity> security =
        certs.map(
            c ->
                new ServerSecurity(
                    Optional.of(ServerTls.of(c.resolve("server.pem"), c.resolve("server.key"))),
                    auth
                        ? new PolicyFile(c.resolve("access.policy"))
                        : dev.streamscore.proto.security.AccessPolicy::open,
                    false));
    Optional<ServerSecurity> echoSecurity =
        security.map(s -> s.withAccess(dev.streamscore.proto.security.AccessPolicy::open));
    Path dir = Files.createTempDirectory("scoring-server");
    Clock clock = Clock.fixed(Instant.ofEpochMilli(ScoringLoad.NOW), ZoneOffset.UTC);
    try (RegistryServer registry =
            RegistryServer.start(
                ServerTransport.loopback(0),
                dir.resolve("registry"),
                Optional.empty(),
                Clock.systemUTC());
        ScoringNode node =
            ScoringLoad.node(
                dir,
                registry,
                clock,
                p -> {},
                new ServerTransport(tuned(security), "127.0.0.1", 0))) {
      List<FeatureRow> batch = new ArrayList<>();
      ScoringLoad.rows(
          entities,
          rows -> {
            for (FeatureRow r : rows) {
              if (r.getView().equals("user_txn")) {
                batch.add(r);
              }
            }
            if (batch.size() >= 10_000) {
              node.store().write(batch, Map.of());
              batch.clear();
            }
          });
      node.store().write(batch, Map.of());
      node.store().compact();
      ManagedChannel registryChannel =
          NettyChannelBuilder.forTarget(registry.address()).usePlaintext().build();
      RegistryClient client = new RegistryClient(registryChannel, Optional.empty(), "bench");
      Path model = TestModels.logisticRegression(dir.resolve("lr.onnx"), 9, 1);
      client.register(model, ScoringLoad.spec("fraud", true));
      client.promote("fraud", "prod", 1);
      while (node.agent().servingRevision("fraud", "prod") == 0) {
        Thread.sleep(20); // the agent is loading the model; nothing else to wait on
      }
      // A real answer, as the echo's canned response: same size on the wire.
      ManagedChannel self =
          new ClientSecurity(
                  certs.map(c -> ClientTls.trusting(c.resolve("ca.pem"))),
                  auth
                      ? Optional.of(Files.readString(certs.get().resolve("scorer.token")).strip())
                      : Optional.empty())
              .channel(node.address())
              .build();
      PredictResponse sample =
          ScoringGrpc.newBlockingStub(self)
              .withDeadlineAfter(10, TimeUnit.SECONDS)
              .predict(ScoringLoad.request("fraud", "u1"));
      self.shutdownNow();
      Server echo = tuned(echoSecurity).addService(new Echo(sample)).build().start();
      System.out.printf(
          "ready %s 127.0.0.1:%d %d%n", node.address(), echo.getPort(), sample.getSerializedSize());
      System.out.flush();
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null && !line.equals("quit"); ) {
        if (line.equals("stats")) {
          System.out.printf("%d %d%n", cpuNanos(), allocatedBytes());
          System.out.flush();
        }
      }
      echo.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      registryChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    } finally {
      Utils.delete(dir.toFile());
    }
  }

  static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  static long allocatedBytes() {
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long sum = 0;
    for (long bytes : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) {
      sum += Math.max(0, bytes);
    }
    return sum;
  }

  /** Answers every Predict with the same response but the request's id. */
  private static final class Echo extends ScoringGrpc.ScoringImplBase {
    private final PredictResponse canned;

    Echo(PredictResponse canned) {
      this.canned = canned;
    }

    @Override
    public void predict(PredictRequest request, StreamObserver<PredictResponse> response) {
      response.onNext(canned.toBuilder().setRequestId(request.getRequestId()).build());
      response.onCompleted();
    }
  }
}
