package dev.streamscore.ingest;

import dev.streamscore.proto.v1.RejectReason;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Per-source counters: records received, valid, rejected by reason, and (gateway) failed writes.
 * Thread-safe; counting costs one map lookup and one {@link LongAdder} increment, no allocation.
 *
 * <p>These are live metrics. Under exactly-once processing a transaction that aborts and retries
 * counts its records again, so the topics, not these counters, are the record of truth.
 */
public final class IngestCounters {
  private static final RejectReason[] REASONS = RejectReason.values();

  private final Map<String, Source> sources = new ConcurrentHashMap<>();

  /** One source's counters. */
  private static final class Source {
    final LongAdder received = new LongAdder();
    final LongAdder valid = new LongAdder();
    final LongAdder rejected = new LongAdder();
    final LongAdder failed = new LongAdder();
    final LongAdder[] byReason = new LongAdder[REASONS.length];

    Source() {
      for (int i = 0; i < byReason.length; i++) {
        byReason[i] = new LongAdder();
      }
    }
  }

  private Source source(String name) {
    Source s = sources.get(name);
    return s != null ? s : sources.computeIfAbsent(name, n -> new Source());
  }

  void received(String source) {
    source(source).received.increment();
  }

  void valid(String source) {
    source(source).valid.increment();
  }

  void rejected(String source, RejectReason reason) {
    Source s = source(source);
    s.rejected.increment();
    if (reason != RejectReason.UNRECOGNIZED) {
      s.byReason[reason.ordinal()].increment();
    }
  }

  /** An event whose outcome is unknown because Kafka failed; the client was told to retry. */
  void failed(String source) {
    source(source).failed.increment();
  }

  /** One counter's value: {@code payments.received}, {@code payments.rejected.out_of_range}. */
  public long get(String name) {
    Long value = snapshot().get(name);
    return value == null ? 0 : value;
  }

  /**
   * Every counter that is not zero, sorted by name: {@code <source>.received}, {@code .valid},
   * {@code .rejected}, {@code .rejected.<reason>}, {@code .failed}.
   */
  public Map<String, Long> snapshot() {
    Map<String, Long> out = new TreeMap<>();
    sources.forEach(
        (name, s) -> {
          put(out, name + ".received", s.received);
          put(out, name + ".valid", s.valid);
          put(out, name + ".rejected", s.rejected);
          put(out, name + ".failed", s.failed);
          for (int i = 0; i < REASONS.length; i++) {
            if (REASONS[i] != RejectReason.UNRECOGNIZED) {
              put(out, name + ".rejected." + reasonName(REASONS[i]), s.byReason[i]);
            }
          }
        });
    return out;
  }

  private static void put(Map<String, Long> out, String key, LongAdder adder) {
    long v = adder.sum();
    if (v != 0) {
      out.put(key, v);
    }
  }

  /** {@code REJECT_REASON_OUT_OF_RANGE} as {@code out_of_range}. */
  public static String reasonName(RejectReason reason) {
    return reason.name().replaceFirst("^REJECT_REASON_", "").toLowerCase(Locale.ROOT);
  }
}
