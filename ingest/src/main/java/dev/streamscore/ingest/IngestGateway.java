package dev.streamscore.ingest;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.proto.Daemons;
import dev.streamscore.proto.GrpcServers;
import dev.streamscore.proto.Health;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.v1.IngestGrpc;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC ingest gateway: producers publish JSON events over the {@code Ingest} service and get
 * one ack per event once Kafka has it (or a rejection with its reason, once the dead letter is in
 * Kafka). See {@link IngestGatewayConfig} for its limits.
 *
 * <p>Close order: stop accepting calls, let calls in progress finish for up to 10 s, cancel the
 * rest, then flush and close the Kafka producer, then the executor.
 */
public final class IngestGateway implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(IngestGateway.class);

  // grpc-java logs each client message it refuses (oversized, undecodable) at WARNING with a stack
  // trace, although the client is already told why (RESOURCE_EXHAUSTED, INTERNAL): an expected
  // user error, not the gateway's. Held strongly because JUL keeps loggers weakly.
  private static final java.util.logging.Logger REFUSED_MESSAGES =
      java.util.logging.Logger.getLogger("io.grpc.netty.shaded.io.grpc.netty.NettyServerStream");

  static {
    REFUSED_MESSAGES.setLevel(java.util.logging.Level.SEVERE);
  }

  private final ServerTransport.Listening listening;
  private final GatewayPublisher publisher;
  private final ExecutorService executor;
  private final IngestCounters counters;
  private final GatewayStats stats;
  private final Health health;
  private final AtomicBoolean closed = new AtomicBoolean();

  private IngestGateway(
      ServerTransport.Listening listening,
      GatewayPublisher publisher,
      ExecutorService executor,
      IngestCounters counters,
      GatewayStats stats,
      Health health) {
    this.listening = listening;
    this.publisher = publisher;
    this.executor = executor;
    this.counters = counters;
    this.stats = stats;
    this.health = health;
  }

  /**
   * The gateway's {@code grpc.health.v1} status: SERVING until told otherwise (the platform says so
   * when the validator behind it is down).
   */
  public Health health() {
    return health;
  }

  /**
   * Starts the gateway. The raw and dead-letter topics must exist (the validator creates them).
   *
   * @throws IngestGatewayException if the port cannot be bound
   */
  public static IngestGateway start(IngestGatewayConfig config, FeatureSpec spec, Clock clock) {
    return start(ServerTransport.tcp(config.host(), config.port()), config, spec, clock);
  }

  /**
   * Starts the gateway on {@code transport} instead of {@code config}'s host and port (gRPC's
   * in-process transport in tests).
   *
   * @throws IngestGatewayException when it cannot listen
   */
  public static IngestGateway start(
      ServerTransport transport, IngestGatewayConfig config, FeatureSpec spec, Clock clock) {
    IngestCounters counters = new IngestCounters();
    GatewayStats stats = new GatewayStats();
    ExecutorService executor =
        Executors.newFixedThreadPool(
            Math.max(2, Runtime.getRuntime().availableProcessors()), threads());
    GatewayPublisher publisher = new GatewayPublisher(config, spec, counters, clock);
    Health health = new Health(IngestGrpc.SERVICE_NAME, "ingest gateway");
    transport
        .builder()
        .executor(executor)
        .maxInboundMessageSize(config.maxMessageBytes())
        .addService(new IngestService(config, publisher, executor, stats))
        .addService(health.service())
        .intercept(GrpcServers.boundedErrors());
    ServerTransport.Listening server;
    try {
      server = transport.start();
    } catch (IllegalStateException e) {
      publisher.close(Duration.ZERO);
      executor.shutdownNow();
      throw new IngestGatewayException(e.getMessage(), e);
    }
    IngestGateway gateway = new IngestGateway(server, publisher, executor, counters, stats, health);
    LOG.info("ingest gateway listening on {}", gateway.address());
    return gateway;
  }

  private static ThreadFactory threads() {
    return Daemons.named("ingest-gateway");
  }

  /** The port listened on (the chosen one when configured with 0). */
  public int port() {
    return listening.server().getPort();
  }

  /** {@code host:port}, for a gRPC client's target. */
  public String address() {
    return listening.address();
  }

  /** Received, valid (accepted into the raw topic), rejected by reason and failed, per source. */
  public IngestCounters counters() {
    return counters;
  }

  /** Events read from clients and not yet acknowledged to them. */
  public long inFlightEvents() {
    return stats.inFlight.sum();
  }

  /** Streams whose client is not reading its acks, so the gateway has stopped reading them. */
  public long stalledStreams() {
    return stats.stalledStreams.sum();
  }

  /** Publish streams and batches in progress. */
  public long activeCalls() {
    return stats.activeCalls.sum();
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    health.close();
    listening.stop(java.time.Duration.ofSeconds(10));
    publisher.close(Duration.ofSeconds(10));
    executor.shutdownNow();
    LOG.info("ingest gateway stopped");
  }
}
