package dev.streamscore.ingest.generator;

import dev.streamscore.ingest.generator.GeneratedEvent.Kind;
import dev.streamscore.proto.v1.RejectReason;
import java.nio.charset.StandardCharsets;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.SplittableRandom;

/**
 * A realistic stream of card payments for the shipped {@code payments} source: users and merchants
 * with Zipf popularity, log-normal amounts, a home country and usual device per user, and
 * occasional fraud bursts (a user's card suddenly used abroad, on the web, for large amounts, each
 * event labelled {@code is_fraud: true}). On top, at the configured rates: events broken in each
 * way the validator rejects, exact duplicates, and events whose time lies in the past.
 *
 * <p>Event times come from the given clock, so a live run stamps "now" and a test can replay a
 * fixed timeline. Not thread-safe: one generator per producing thread.
 */
public final class PaymentsGenerator {
  private static final String[] COUNTRIES = {
    "US", "GB", "DE", "FR", "IN", "BR", "JP", "NG", "CA", "ES", "MX", "PL"
  };
  private static final double[] COUNTRY_WEIGHTS = {
    0.40, 0.10, 0.09, 0.07, 0.08, 0.07, 0.05, 0.03, 0.04, 0.03, 0.02, 0.02
  };
  private static final String[] DEVICES = {"ios", "android", "web", "pos"};
  private static final RejectReason[] INVALID_REASONS = {
    RejectReason.REJECT_REASON_MALFORMED,
    RejectReason.REJECT_REASON_MISSING_FIELD,
    RejectReason.REJECT_REASON_WRONG_TYPE,
    RejectReason.REJECT_REASON_OUT_OF_RANGE
  };
  private static final int DUPLICATE_MEMORY = 1_000;

  private final GeneratorConfig config;
  private final InstantSource clock;
  private final SplittableRandom random;
  private final Zipf users;
  private final Zipf merchants;
  private final Deque<GeneratedEvent> recent = new ArrayDeque<>();
  private long sequence;
  private int burstUser = -1;
  private int burstLeft;

  public PaymentsGenerator(GeneratorConfig config, InstantSource clock) {
    this.config = config;
    this.clock = clock;
    this.random = new SplittableRandom(config.seed());
    this.users = new Zipf(config.users(), config.zipfExponent());
    this.merchants = new Zipf(config.merchants(), config.zipfExponent());
  }

  /** The next event, drawn according to the configured rates. */
  public GeneratedEvent next() {
    double draw = random.nextDouble();
    if (draw < config.invalidRate()) {
      return invalid(INVALID_REASONS[random.nextInt(INVALID_REASONS.length)]);
    }
    if (draw < config.invalidRate() + config.duplicateRate() && !recent.isEmpty()) {
      GeneratedEvent original = recent.peekLast();
      int back = random.nextInt(recent.size());
      for (GeneratedEvent e : recent) {
        if (back-- == 0) {
          original = e;
          break;
        }
      }
      return new GeneratedEvent(
          original.key(),
          original.json(),
          Kind.DUPLICATE,
          RejectReason.REJECT_REASON_UNSPECIFIED,
          original.fraud());
    }
    return valid();
  }

  /** A valid event (in order, or out of order at the configured rate). */
  public GeneratedEvent valid() {
    Payment p = draw();
    boolean late = random.nextDouble() < config.outOfOrderRate();
    if (late) {
      p.ts -= 1 + random.nextLong(Math.max(1, config.maxDisorder().toMillis()));
    }
    GeneratedEvent event =
        new GeneratedEvent(
            p.user,
            p.json(null, null).getBytes(StandardCharsets.UTF_8),
            late ? Kind.OUT_OF_ORDER : Kind.VALID,
            RejectReason.REJECT_REASON_UNSPECIFIED,
            p.fraud);
    remember(event);
    return event;
  }

  /**
   * An event broken so that the validator rejects it with {@code reason}: MALFORMED, MISSING_FIELD,
   * WRONG_TYPE or OUT_OF_RANGE.
   */
  public GeneratedEvent invalid(RejectReason reason) {
    Payment p = draw();
    String json =
        switch (reason) {
          case REJECT_REASON_MALFORMED -> malformed(p);
          case REJECT_REASON_MISSING_FIELD ->
              p.json(
                  new String[] {"amount", "merchant_id", "txn_id", "ts"}[random.nextInt(4)], null);
          case REJECT_REASON_WRONG_TYPE ->
              switch (random.nextInt(3)) {
                case 0 -> p.json("amount", '"' + p.amountText() + '"');
                case 1 -> p.json("items", "2.5");
                default -> p.json("card_present", "\"yes\"");
              };
          case REJECT_REASON_OUT_OF_RANGE ->
              switch (random.nextInt(3)) {
                case 0 -> p.json("amount", "-" + p.amountText());
                case 1 -> p.json("items", "0");
                default -> p.json("amount", "2500000.00");
              };
          default ->
              throw new IllegalArgumentException("cannot generate an event rejected as " + reason);
        };
    String key = reason == RejectReason.REJECT_REASON_MALFORMED ? null : p.user;
    return new GeneratedEvent(
        key, json.getBytes(StandardCharsets.UTF_8), Kind.INVALID, reason, false);
  }

  private String malformed(Payment p) {
    String json = p.json(null, null);
    return switch (random.nextInt(3)) {
      // Cut right after a complete value, so no field is seen as wrong before the cut is.
      case 0 -> json.substring(0, json.indexOf(',', json.indexOf("\"amount\"")));
      case 1 -> "[" + json + "]";
      default -> "txn " + p.txn + " amount " + p.amountText();
    };
  }

  private void remember(GeneratedEvent event) {
    recent.addLast(event);
    if (recent.size() > DUPLICATE_MEMORY) {
      recent.removeFirst();
    }
  }

  private Payment draw() {
    Payment p = new Payment();
    p.txn = "t" + Long.toString(config.seed(), 36) + "-" + sequence++;
    p.ts = clock.millis();
    if (burstLeft == 0 && random.nextDouble() < config.fraudRate()) {
      burstUser = users.next(random);
      burstLeft = 3 + random.nextInt(10);
    }
    if (burstLeft > 0 && random.nextDouble() < 0.3) {
      burstLeft--;
      int user = burstUser;
      p.user = userId(user);
      p.fraud = true;
      // Large amounts, a random merchant (not the user's usual ones), abroad, online.
      p.amount = Math.exp(5.5 + 1.2 * random.nextGaussian());
      p.merchant = merchantId(random.nextInt(config.merchants()));
      String home = homeCountry(user);
      String country;
      do {
        country = COUNTRIES[random.nextInt(COUNTRIES.length)];
      } while (country.equals(home));
      p.country = country;
      p.device = "web";
    } else {
      int user = users.next(random);
      p.user = userId(user);
      p.amount = Math.exp(3.4 + 1.0 * random.nextGaussian());
      p.merchant = merchantId(merchants.next(random));
      p.country =
          random.nextDouble() < 0.95 ? homeCountry(user) : COUNTRIES[weighted(random.nextDouble())];
      p.device =
          random.nextDouble() < 0.8
              ? DEVICES[Math.floorMod(mix(user) >>> 8, DEVICES.length)]
              : DEVICES[random.nextInt(DEVICES.length)];
    }
    p.amount += config.amountShift() * GeneratorConfig.AMOUNT_SD;
    p.amount = Math.min(Math.round(p.amount * 100) / 100.0, 999_999.99);
    if (p.amount < 0.01) {
      p.amount = 0.01;
    }
    p.cardPresent = p.device.equals("pos");
    p.items = 1 + (int) Math.min(999, Math.floor(-Math.log(1 - random.nextDouble()) * 1.5));
    return p;
  }

  private static String userId(int rank) {
    return "u" + rank;
  }

  private static String merchantId(int rank) {
    return "m" + rank;
  }

  private static String homeCountry(int user) {
    return COUNTRIES[weighted((mix(user) & 0xFFFF) / 65536.0)];
  }

  private static int weighted(double u) {
    double sum = 0;
    for (int i = 0; i < COUNTRY_WEIGHTS.length; i++) {
      sum += COUNTRY_WEIGHTS[i];
      if (u < sum) {
        return i;
      }
    }
    return COUNTRY_WEIGHTS.length - 1;
  }

  /** A fixed scramble of a user's rank, so a user keeps their country and device across runs. */
  private static long mix(long x) {
    x = (x ^ (x >>> 30)) * 0xbf58476d1ce4e5b9L;
    x = (x ^ (x >>> 27)) * 0x94d049bb133111ebL;
    return x ^ (x >>> 31);
  }

  /** One payment before it is written as JSON. */
  private static final class Payment {
    String user;
    String txn;
    long ts;
    double amount;
    String merchant;
    String country;
    String device;
    boolean cardPresent;
    int items;
    boolean fraud;

    String amountText() {
      return String.format(java.util.Locale.ROOT, "%.2f", amount);
    }

    /**
     * The JSON object; the field named {@code changed} (if any) gets {@code replacement} as its raw
     * JSON value, or is left out when {@code replacement} is null.
     */
    String json(String changed, String replacement) {
      StringBuilder b = new StringBuilder(200).append('{');
      field(b, changed, replacement, "user_id", '"' + user + '"');
      field(b, changed, replacement, "txn_id", '"' + txn + '"');
      field(b, changed, replacement, "ts", Long.toString(ts));
      field(b, changed, replacement, "amount", amountText());
      field(b, changed, replacement, "merchant_id", '"' + merchant + '"');
      field(b, changed, replacement, "country", '"' + country + '"');
      field(b, changed, replacement, "device", '"' + device + '"');
      field(b, changed, replacement, "card_present", Boolean.toString(cardPresent));
      field(b, changed, replacement, "items", Integer.toString(items));
      field(b, changed, replacement, "is_fraud", Boolean.toString(fraud));
      b.setLength(b.length() - 1);
      return b.append('}').toString();
    }

    private static void field(
        StringBuilder b, String changed, String replacement, String name, String value) {
      if (name.equals(changed)) {
        if (replacement == null) {
          return;
        }
        value = replacement;
      }
      b.append('"').append(name).append("\":").append(value).append(',');
    }
  }
}
