package dev.streamscore.ingest;

import dev.streamscore.proto.v1.RejectReason;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Per-source counters: records received, valid, and rejected by reason. Thread-safe.
 *
 * <p>These are live metrics. Under exactly-once processing a transaction that aborts and retries
 * counts its records again, so the topics, not these counters, are the record of truth.
 */
public final class IngestCounters {
  private final Map<String, LongAdder> counters = new ConcurrentHashMap<>();

  void received(String source) {
    add(source + ".received");
  }

  void valid(String source) {
    add(source + ".valid");
  }

  void rejected(String source, RejectReason reason) {
    add(source + ".rejected");
    add(source + ".rejected." + reasonName(reason));
  }

  /** An event whose outcome is unknown because Kafka failed; the client was told to retry. */
  void failed(String source) {
    add(source + ".failed");
  }

  private void add(String key) {
    counters.computeIfAbsent(key, k -> new LongAdder()).increment();
  }

  /** One counter's value: {@code payments.received}, {@code payments.rejected.out_of_range}. */
  public long get(String name) {
    LongAdder adder = counters.get(name);
    return adder == null ? 0 : adder.sum();
  }

  /** Every counter, sorted by name. */
  public Map<String, Long> snapshot() {
    Map<String, Long> out = new TreeMap<>();
    counters.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }

  /** {@code REJECT_REASON_OUT_OF_RANGE} as {@code out_of_range}. */
  public static String reasonName(RejectReason reason) {
    return reason.name().replaceFirst("^REJECT_REASON_", "").toLowerCase(java.util.Locale.ROOT);
  }
}
