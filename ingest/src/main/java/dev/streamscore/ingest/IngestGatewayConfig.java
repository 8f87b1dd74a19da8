package dev.streamscore.ingest;

import java.time.Duration;
import java.util.Objects;

/**
 * How to run the gRPC ingest gateway.
 *
 * @param bootstrapServers the Kafka cluster
 * @param host the address to listen on ({@code 127.0.0.1} on the embedded default)
 * @param port the port; 0 for any free port
 * @param maxEventBytes the largest event payload accepted; larger ones are rejected TOO_LARGE
 * @param maxMessageBytes the largest gRPC message (a stream event or a whole batch); a larger one
 *     fails the call with RESOURCE_EXHAUSTED before it is read
 * @param maxBatchEvents the most events in one {@code PublishBatch}
 * @param streamWindow the most events of one {@code Publish} stream that may be read but not yet
 *     acknowledged to the client; when the client does not read its acks, the gateway stops reading
 *     its events
 * @param streamWindowBytes the same bound in payload bytes
 * @param maxCalls the most {@code Publish} streams and batches in progress at once; more are
 *     refused with RESOURCE_EXHAUSTED
 * @param dlqTopic where rejected events go (stage {@code gateway})
 * @param deliveryTimeout how long Kafka may take to acknowledge an event before the call fails with
 *     UNAVAILABLE
 */
public record IngestGatewayConfig(
    String bootstrapServers,
    String host,
    int port,
    int maxEventBytes,
    int maxMessageBytes,
    int maxBatchEvents,
    int streamWindow,
    int streamWindowBytes,
    int maxCalls,
    String dlqTopic,
    Duration deliveryTimeout) {

  /** The default port: gRPC's customary 50051. */
  public static final int DEFAULT_PORT = 50051;

  public IngestGatewayConfig {
    Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(deliveryTimeout, "deliveryTimeout");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
    }
    positive("maxEventBytes", maxEventBytes);
    positive("maxBatchEvents", maxBatchEvents);
    positive("streamWindow", streamWindow);
    positive("maxCalls", maxCalls);
    if (maxMessageBytes < maxEventBytes + 1024) {
      throw new IllegalArgumentException(
          "maxMessageBytes must exceed maxEventBytes by at least 1024, got "
              + maxMessageBytes
              + " and "
              + maxEventBytes);
    }
    if (streamWindowBytes < maxEventBytes) {
      throw new IllegalArgumentException(
          "streamWindowBytes must be at least maxEventBytes, got "
              + streamWindowBytes
              + " and "
              + maxEventBytes);
    }
    if (dlqTopic == null || dlqTopic.isBlank()) {
      throw new IllegalArgumentException("dlqTopic must not be blank");
    }
    if (deliveryTimeout.toMillis() < 1_000) {
      throw new IllegalArgumentException(
          "deliveryTimeout must be at least 1 s, got " + deliveryTimeout);
    }
  }

  private static void positive(String name, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " must be at least 1, got " + value);
    }
  }

  /**
   * 127.0.0.1:50051; events up to 1,000,000 bytes (under Kafka's default 1 MiB record limit),
   * messages up to 4 MiB, batches of up to 10,000 events, a stream window of 2,048 events or 4 MiB,
   * 256 calls at once, {@code events.dlq}, a 30 s delivery timeout.
   */
  public static IngestGatewayConfig defaults(String bootstrapServers) {
    return new IngestGatewayConfig(
        bootstrapServers,
        "127.0.0.1",
        DEFAULT_PORT,
        1_000_000,
        4 << 20,
        10_000,
        2_048,
        4 << 20,
        256,
        ValidatorTopology.DEFAULT_DLQ,
        Duration.ofSeconds(30));
  }

  public IngestGatewayConfig withPort(int port) {
    return new IngestGatewayConfig(
        bootstrapServers,
        host,
        port,
        maxEventBytes,
        maxMessageBytes,
        maxBatchEvents,
        streamWindow,
        streamWindowBytes,
        maxCalls,
        dlqTopic,
        deliveryTimeout);
  }

  public IngestGatewayConfig withStreamWindow(int events, int bytes) {
    return new IngestGatewayConfig(
        bootstrapServers,
        host,
        port,
        maxEventBytes,
        maxMessageBytes,
        maxBatchEvents,
        events,
        bytes,
        maxCalls,
        dlqTopic,
        deliveryTimeout);
  }
}
