package dev.streamscore.ingest;

import java.util.concurrent.atomic.LongAdder;

/** Live gauges of the gateway, shared by its calls. */
final class GatewayStats {
  /** Events read from clients and not yet acknowledged to them. */
  final LongAdder inFlight = new LongAdder();

  /** Streams holding acks that their client is not reading. */
  final LongAdder stalledStreams = new LongAdder();

  /** Publish streams and batches in progress. */
  final LongAdder activeCalls = new LongAdder();
}
