package dev.streamscore.etl;

import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.Value;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The golden input every engine is tested with: validated {@code events.payments} records of the
 * golden spec, with disorder, duplicates (near and far), nulls under each null policy, out-of-range
 * values under each range policy, wrong types, failing transforms and late events (for one view or
 * both). Deterministic per seed; events are in production order, which is each entity's partition
 * order.
 */
public final class GoldenStream {
  public static final String SOURCE = "payments";
  private static final String[] COUNTRIES = {"US", "GB", "DE", "FR", "IN", "BR"};
  private static final String[] DEVICES = {"ios", "android", "web", "pos", "tv"};

  private GoldenStream() {}

  /** The golden spec (test resource {@code golden.yaml}). */
  public static FeatureSpec spec() {
    return FeatureSpec.parse(specText(), "golden.yaml");
  }

  /** The golden spec's YAML, for engines that take a spec file. */
  public static String specText() {
    try (InputStream in = GoldenStream.class.getResourceAsStream("golden.yaml")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Generates a stream.
   *
   * @param seed the seed; the same seed gives the same stream
   * @param events how many events
   * @param users how many entities (popularity is skewed toward low ids)
   * @param startMs the event time of the first event
   * @param spanMs about how much event time the stream covers
   */
  public static List<Event> generate(long seed, int events, int users, long startMs, long spanMs) {
    SplittableRandom random = new SplittableRandom(seed);
    List<Event> out = new ArrayList<>(events);
    List<Event> recent = new ArrayList<>();
    long clock = startMs;
    double meanGap = Math.max(1.0, (double) spanMs / events);
    for (int i = 0; i < events; i++) {
      clock += (long) (random.nextDouble() * 2 * meanGap);
      double kind = random.nextDouble();
      Event event;
      if (kind < 0.03 && !recent.isEmpty()) {
        event = recent.get(random.nextInt(recent.size())); // near duplicate
      } else if (kind < 0.033 && out.size() > 1000) {
        event = out.get(random.nextInt(out.size() / 4)); // far duplicate: LATE or DUPLICATE
      } else {
        long time = clock;
        double disorder = random.nextDouble();
        if (disorder < 0.02) {
          time -= 10 * 60_000L + random.nextLong(50 * 60_000L); // late for user_txn, maybe both
        } else if (disorder < 0.12) {
          time -= random.nextLong(5 * 60_000L); // out of order, within lateness
        }
        event = fresh(random, seed, i, time, users);
      }
      out.add(
          event.toBuilder()
              .setIngestTimeMs(startMs + i)
              .setRawTopic("raw." + SOURCE)
              .setRawPartition(0)
              .setRawOffset(i)
              .build());
      recent.add(event);
      if (recent.size() > 200) {
        recent.remove(0);
      }
    }
    return out;
  }

  private static Event fresh(SplittableRandom random, long seed, int i, long time, int users) {
    double r = random.nextDouble();
    int user = (int) Math.floor(r * r * users);
    Event.Builder e =
        Event.newBuilder()
            .setSource(SOURCE)
            .setEntityId("u" + user)
            .setEventId("t" + seed + "-" + i)
            .setEventTimeMs(time);
    double amount = Math.round(Math.exp(3 + random.nextGaussian()) * 100) / 100.0;
    double flaw = random.nextDouble();
    if (flaw < 0.01) {
      e.putFields("amount", dbl(-amount)); // OUT_OF_RANGE (drop)
    } else if (flaw < 0.02) {
      // required amount missing: MISSING_FIELD
    } else if (flaw < 0.025) {
      e.putFields("amount", Value.newBuilder().setStringValue(Double.toString(amount)).build());
    } else {
      e.putFields("amount", dbl(amount));
    }
    e.putFields("merchant_id", str("m" + random.nextInt(400)));
    if (random.nextDouble() > 0.03) {
      e.putFields("country", str(COUNTRIES[random.nextInt(COUNTRIES.length)])); // else default
    }
    if (random.nextDouble() > 0.03) {
      e.putFields("device", str(DEVICES[random.nextInt(DEVICES.length)])); // else default
    }
    if (random.nextDouble() > 0.02) {
      e.putFields("card_present", Value.newBuilder().setBoolValue(random.nextBoolean()).build());
    } // else MISSING_FIELD (if_null: drop)
    double items = random.nextDouble();
    long n = items < 0.01 ? 0 : items < 0.02 ? 5_000 : 1 + random.nextInt(5); // clamped
    e.putFields("items", Value.newBuilder().setLongValue(n).build());
    if (random.nextDouble() < 0.3) {
      double delta = -1.2 + random.nextDouble() * 4.2; // <= -1 fails log1p: TRANSFORM_FAILED
      e.putFields("balance_delta", dbl(delta));
    }
    if (random.nextDouble() < 0.5) {
      e.putFields("is_fraud", Value.newBuilder().setBoolValue(random.nextDouble() < 0.02).build());
    }
    return e.build();
  }

  private static Value dbl(double v) {
    return Value.newBuilder().setDoubleValue(v).build();
  }

  private static Value str(String v) {
    return Value.newBuilder().setStringValue(v).build();
  }

  /**
   * The replay's final row of every tile of a view, by {@code entity@tileStart}, normalized as
   * {@link #normalized}: what an engine's output must end with.
   */
  public static java.util.Map<String, dev.streamscore.proto.v1.FeatureRow> finalRows(
      Replay replay, String view) {
    java.util.Map<String, dev.streamscore.proto.v1.FeatureRow> tiles = new java.util.TreeMap<>();
    replay
        .finalRows(view)
        .forEach(
            (entity, byStart) ->
                byStart.forEach((start, row) -> tiles.put(entity + "@" + start, normalized(row))));
    return tiles;
  }

  /** Drops what legitimately differs between engines and runs: processing time and producer. */
  public static dev.streamscore.proto.v1.FeatureRow normalized(
      dev.streamscore.proto.v1.FeatureRow row) {
    return row.toBuilder().clearUpdatedAtMs().clearProducer().build();
  }
}
