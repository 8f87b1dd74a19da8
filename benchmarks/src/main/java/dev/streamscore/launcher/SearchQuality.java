package dev.streamscore.launcher;

import dev.streamscore.etl.EventValidator;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.etl.Validation;
import dev.streamscore.ingest.generator.GeneratorConfig;
import dev.streamscore.ingest.generator.PaymentsGenerator;
import dev.streamscore.proto.v1.Event;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How a search's choice fares on the rows it never saw, against the fixed baseline, on generated
 * payments of several label densities: each data set's events are validated as the ETL validates
 * them, split 70/15/15 by time as {@code streamscore train} splits them, and searched with each
 * algorithm's default space.
 *
 * <p>In the launcher's package because the search is the launcher's internals, not its API.
 *
 * <p>Arguments: {@code [events] [variant ...]}, a variant being {@code
 * seed:stepMs:fraudRate:users:merchants}; by default 20,000 events of the demo's generator settings
 * (seeds 42 and 7) and of {@code streamscore produce}'s defaults (seeds 42, 7 and 3).
 */
public final class SearchQuality {
  private SearchQuality() {}

  public static void main(String[] args) throws Exception {
    int events = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    List<String> variants =
        args.length > 1
            ? List.of(args).subList(1, args.length)
            : List.of(
                "42:100:0.004:3000:1000",
                "7:100:0.004:3000:1000",
                "42:1:0.0005:100000:5000",
                "7:1:0.0005:100000:5000",
                "3:100:0.0005:100000:5000");
    FeatureSpec spec = FeatureSpec.shippedPayments();
    System.out.println(
        "| data (seed:step ms:fraud rate:users:merchants) | positives (train/validation/held out)"
            + " | algorithm | took | best held-out AUC (95%) | baseline held-out AUC |");
    System.out.println("|---|---|---|---|---|---|");
    for (String variant : variants) {
      String[] p = variant.split(":");
      List<Event> log =
          events(
              spec,
              Long.parseLong(p[0]),
              Long.parseLong(p[1]),
              events,
              Double.parseDouble(p[2]),
              Integer.parseInt(p[3]),
              Integer.parseInt(p[4]));
      TrainCommand.Split split =
          TrainCommand.Split.of(
              spec, log, "events.payments", "is_fraud", null, null, List.of(0.7, 0.15));
      String positives =
          positives(split.train())
              + "/"
              + positives(split.validation())
              + "/"
              + positives(split.heldOut());
      for (String algorithm : List.of(Trainer.XGBOOST, Trainer.LOGISTIC_REGRESSION)) {
        Path dir = Files.createTempDirectory("search-quality");
        long started = System.nanoTime();
        Search.Outcome o =
            Search.run(
                algorithm,
                Search.Space.defaults(algorithm),
                "grid",
                1,
                split.train(),
                split.validation(),
                split.heldOut(),
                dir,
                line -> {},
                () -> false,
                List.of(),
                t -> {});
        double seconds = (System.nanoTime() - started) / 1e9;
        double se = Search.metrics(o).getOrDefault("heldout_auc_se", Double.NaN);
        System.out.printf(
            Locale.ROOT,
            "| %s | %s | %s grid of %d | %.1f s | %.3f ± %.3f%s | %.3f |%n",
            variant,
            positives,
            algorithm,
            o.trials().size(),
            seconds,
            o.heldOut().auc(),
            1.96 * se,
            o.baselineRanksFirst() ? " (baseline ranked first)" : "",
            o.baselineHeldOut().auc());
        try (var files = Files.list(dir)) {
          for (Path f : files.toList()) {
            Files.delete(f);
          }
        }
        Files.delete(dir);
      }
    }
  }

  private static long positives(List<Trainer.Row> rows) {
    return rows.stream().filter(Trainer.Row::fraud).count();
  }

  /**
   * The valid events of {@code n} generated payments {@code stepMs} apart in event time, ending a
   * minute ago. No duplicates: the ETL would drop them, this harness does not run it.
   */
  private static List<Event> events(
      FeatureSpec spec, long seed, long stepMs, int n, double fraudRate, int users, int merchants) {
    long start = System.currentTimeMillis() - stepMs * n - 60_000;
    long[] ticks = {0};
    InstantSource steps = () -> Instant.ofEpochMilli(start + stepMs * ticks[0]++);
    PaymentsGenerator generator =
        new PaymentsGenerator(
            GeneratorConfig.defaults(seed)
                .withPopulation(users, merchants)
                .withFraudRate(fraudRate)
                .withRates(0, 0, 0.01),
            steps);
    EventValidator validator =
        new EventValidator(spec.sources().get("payments"), Clock.systemUTC());
    List<Event> log = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (validator.validate(generator.next().json(), new RecordOrigin("raw.payments", 0, i))
          instanceof Validation.Valid valid) {
        log.add(valid.event());
      }
    }
    return log;
  }
}
