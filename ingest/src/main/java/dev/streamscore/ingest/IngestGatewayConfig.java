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
 * @param batchBytesInFlight the most request bytes of {@code PublishBatch} calls held at once; a
 *     batch that would exceed it is refused with RESOURCE_EXHAUSTED. With the stream window, this
 *     bounds the gateway's memory: about {@code batchBytesInFlight + maxCalls * streamWindowBytes}
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
    long batchBytesInFlight,
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
    if (batchBytesInFlight < maxMessageBytes) {
      throw new IllegalArgumentException(
          "batchBytesInFlight must be at least maxMessageBytes, got "
              + batchBytesInFlight
              + " and "
              + maxMessageBytes);
    }
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
   * messages up to 4 MiB, batches of up to 10,000 events, a stream window of 2,048 events or 1 MiB
   * (1 MiB also lets one maximum-size event through), 128 calls at once, 32 MiB of batches held,
   * {@code events.dlq}, a 30 s delivery timeout: at most about 160 MiB of events held.
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
        1 << 20,
        128,
        32L << 20,
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
        batchBytesInFlight,
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
        batchBytesInFlight,
        dlqTopic,
        deliveryTimeout);
  }

  public IngestGatewayConfig withDlqTopic(String topic) {
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
        batchBytesInFlight,
        topic,
        deliveryTimeout);
  }
}
