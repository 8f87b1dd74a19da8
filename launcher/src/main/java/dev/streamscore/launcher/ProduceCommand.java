package dev.streamscore.launcher;

import dev.streamscore.etl.TopicNames;
import dev.streamscore.ingest.IngestCounters;
import dev.streamscore.ingest.generator.GeneratedEvent;
import dev.streamscore.ingest.generator.GeneratorConfig;
import dev.streamscore.ingest.generator.PaymentsGenerator;
import dev.streamscore.proto.Daemons;
import dev.streamscore.proto.v1.RejectReason;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code streamscore produce}: a realistic payments stream (or a JSON-lines file) to {@code
 * raw.<source>}, through a Kafka producer or the gRPC ingest gateway, at a target rate or as fast
 * as possible. Progress goes to standard error once a second; the summary to standard output.
 */
@Command(
    name = "produce",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Publishes payments, generated or from a JSON-lines file, to raw.<source>.",
      "",
      "The generated stream has users and merchants with Zipf popularity, log-normal amounts,",
      "fraud bursts with a label, and configurable out-of-order, duplicate and invalid events.",
      "It goes over Kafka or through the gRPC ingest gateway."
    })
final class ProduceCommand implements Callable<Integer> {
  enum Transport {
    kafka,
    grpc
  }

  @Option(
      names = "--to",
      defaultValue = "kafka",
      description =
          "kafka (a Kafka producer, acks=all) or grpc (the ingest gateway) (default: ${DEFAULT-VALUE}).")
  Transport transport;

  @CommandLine.Mixin KafkaOption kafkaOption;

  @Option(
      names = "--ingest",
      paramLabel = "HOST:PORT[,HOST:PORT...]",
      defaultValue = "127.0.0.1:" + PlatformConfig.DEFAULT_INGEST_PORT,
      description =
          "The ingest gateways, with --to grpc: a stream broken by a gateway's death is opened"
              + " again on another, its unacknowledged events sent again (default: ${DEFAULT-VALUE}).")
  String ingest;

  @Option(
      names = "--source",
      defaultValue = "payments",
      description = "The declared source; events go to raw.<source> (default: ${DEFAULT-VALUE}).")
  String source;

  @Option(
      names = "--file",
      paramLabel = "FILE",
      description = "Replay this file, one JSON event per line, instead of generating events.")
  Path file;

  @Option(
      names = {"-n", "--count"},
      paramLabel = "N",
      description =
          "Events to send; 0 runs until Ctrl-C (default: 100000 generated, or the whole --file).")
  Long count;

  @Option(
      names = "--rate",
      paramLabel = "EVENTS_PER_S",
      defaultValue = "0",
      description =
          "Target rate, open loop; 0 sends as fast as possible (default: ${DEFAULT-VALUE}).")
  double rate;

  @Option(names = "--seed", description = "Random seed; the same seed gives the same stream.")
  Long seed;

  @Option(
      names = "--invalid-rate",
      defaultValue = "0.01",
      description = "Share of invalid events (default: ${DEFAULT-VALUE}).")
  double invalidRate;

  @Option(
      names = "--duplicate-rate",
      defaultValue = "0.005",
      description = "Share of exact duplicates (default: ${DEFAULT-VALUE}).")
  double duplicateRate;

  @Option(
      names = "--out-of-order-rate",
      defaultValue = "0.02",
      description =
          "Share of events whose time lies up to 2 minutes in the past (default: ${DEFAULT-VALUE}).")
  double outOfOrderRate;

  @Option(
      names = "--fraud-rate",
      defaultValue = "0.0005",
      description = "Chance per event that a fraud burst starts (default: ${DEFAULT-VALUE}).")
  double fraudRate;

  @Option(
      names = "--amount-shift",
      defaultValue = "0",
      description = "Moves every amount by this many standard deviations, for a drift drill.")
  double amountShift;

  @Option(
      names = "--users",
      defaultValue = "100000",
      description = "Distinct users (default: ${DEFAULT-VALUE}).")
  int users;

  @Option(
      names = "--merchants",
      defaultValue = "5000",
      description = "Distinct merchants (default: ${DEFAULT-VALUE}).")
  int merchants;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  private volatile boolean stopRequested;

  @Override
  public Integer call() throws Exception {
    if (rate < 0 || !Double.isFinite(rate)) {
      throw new StartupException("--rate must be 0 (as fast as possible) or positive, got " + rate);
    }
    if (count != null && count < 0) {
      throw new StartupException("--count must be 0 (until Ctrl-C) or positive, got " + count);
    }
    if (file == null && !source.equals("payments")) {
      throw new StartupException(
          "the generator makes payments events only; use --file to send events of source '"
              + source
              + "'");
    }
    long seedValue = seed != null ? seed : System.nanoTime() & 0xFFFFFFFFL;
    Events events = file != null ? fileEvents() : generated(seedValue);
    long limit = count != null ? count : file != null ? 0 : 100_000;
    String topic = TopicNames.raw(source);

    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    ProduceSink sink =
        transport == Transport.kafka
            ? ProduceSink.kafka(kafkaOption.bootstrap, topic)
            : ProduceSink.grpc(ingest, source);
    Tally tally = new Tally();
    CountDownLatch finished = new CountDownLatch(1);
    Thread hook =
        new Thread(
            () -> {
              stopRequested = true;
              try {
                finished.await(60, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "streamscore-produce-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    ScheduledExecutorService progress = Daemons.scheduler("streamscore-produce-progress");
    long started = System.nanoTime();
    long[] lastSent = {0};
    long[] lastAt = {started};
    progress.scheduleAtFixedRate(
        () -> {
          long now = System.nanoTime();
          long sent = tally.sent;
          double perSecond = (sent - lastSent[0]) * 1e9 / Math.max(1, now - lastAt[0]);
          lastSent[0] = sent;
          lastAt[0] = now;
          err.printf(
              Locale.ROOT,
              "produce: %,d sent (%,.0f/s), %,d acked, %,d rejected, %,d failed%n",
              sent,
              perSecond,
              sink.acked(),
              sink.rejected(),
              sink.failed());
          err.flush();
        },
        1,
        1,
        TimeUnit.SECONDS);
    boolean complete;
    try (sink) {
      double nanosPerEvent = rate > 0 ? 1e9 / rate : 0;
      GeneratedEvent event;
      while ((limit == 0 || tally.sent < limit)
          && !stopRequested
          && (event = events.next()) != null) {
        if (nanosPerEvent > 0) {
          // Open loop: event i is due at start + i / rate, whatever happened to the ones before.
          long due = started + (long) (tally.sent * nanosPerEvent);
          long wait;
          while ((wait = due - System.nanoTime()) > 0 && !stopRequested) {
            LockSupport.parkNanos(Math.min(wait, 100_000_000L));
          }
        }
        sink.send(event.key(), event.json());
        tally.count(event);
      }
      complete = sink.finish(Duration.ofMinutes(2));
    } finally {
      progress.shutdownNow();
      events.close();
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    out.printf(
        Locale.ROOT,
        "produced %,d events to %s over %s in %.1f s (%,.0f events/s)%s%n",
        tally.sent,
        topic,
        transport == Transport.kafka
            ? "Kafka (" + kafkaOption.bootstrap + ")"
            : "gRPC (" + ingest + ")",
        seconds,
        tally.sent / Math.max(seconds, 1e-9),
        file != null ? " from " + file : "; seed " + seedValue);
    if (file == null) {
      out.printf(
          Locale.ROOT,
          "  generated: %,d valid (%,d out of order, %,d duplicates, %,d fraud), %,d invalid%s%n",
          tally.sent - tally.invalid,
          tally.outOfOrder,
          tally.duplicates,
          tally.fraud,
          tally.invalid,
          reasons(tally.invalidByReason));
    }
    out.printf(Locale.ROOT, "  %s%n", sink.summary());
    out.flush();
    finished.countDown();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // Ctrl-C: the hook is running and has just been released.
    }
    return complete && sink.failed() == 0 ? 0 : 1;
  }

  static String reasons(Map<String, Long> byReason) {
    if (byReason.isEmpty()) {
      return "";
    }
    StringBuilder b = new StringBuilder(" (");
    byReason.forEach(
        (k, v) -> b.append(b.length() > 2 ? ", " : "").append(k).append(' ').append(v));
    return b.append(')').toString();
  }

  private Events generated(long seedValue) {
    GeneratorConfig config;
    try {
      config =
          GeneratorConfig.defaults(seedValue)
              .withRates(invalidRate, duplicateRate, outOfOrderRate)
              .withFraudRate(fraudRate)
              .withPopulation(users, merchants)
              .withAmountShift(amountShift);
    } catch (IllegalArgumentException e) {
      throw new StartupException(
          e.getMessage().replace("Rate ", "-rate ").replace("amountShift", "--amount-shift"));
    }
    PaymentsGenerator generator = new PaymentsGenerator(config, InstantSource.system());
    return new Events() {
      @Override
      public GeneratedEvent next() {
        return generator.next();
      }

      @Override
      public void close() {}
    };
  }

  private Events fileEvents() {
    BufferedReader reader;
    try {
      reader = Files.newBufferedReader(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new StartupException("--file " + file + " does not exist");
    } catch (IOException e) {
      throw new StartupException("cannot read --file " + file + ": " + e.getMessage());
    }
    return new Events() {
      @Override
      public GeneratedEvent next() {
        try {
          String line;
          do {
            line = reader.readLine();
          } while (line != null && line.isBlank());
          return line == null
              ? null
              : new GeneratedEvent(
                  null,
                  line.getBytes(StandardCharsets.UTF_8),
                  GeneratedEvent.Kind.VALID,
                  RejectReason.REJECT_REASON_UNSPECIFIED,
                  false);
        } catch (IOException e) {
          throw new StartupException("cannot read --file " + file + ": " + e.getMessage());
        }
      }

      @Override
      public void close() {
        try {
          reader.close();
        } catch (IOException ignored) {
          // Read-only; nothing to lose.
        }
      }
    };
  }

  /** Where events come from: the generator or a file. Null at the end. */
  private interface Events extends AutoCloseable {
    GeneratedEvent next();

    @Override
    void close();
  }

  /** What was sent, by the generator's labels. Written by the sending thread only. */
  private static final class Tally {
    volatile long sent;
    long invalid;
    long outOfOrder;
    long duplicates;
    long fraud;
    final Map<String, Long> invalidByReason = new TreeMap<>();

    void count(GeneratedEvent event) {
      sent++;
      switch (event.kind()) {
        case INVALID -> {
          invalid++;
          invalidByReason.merge(IngestCounters.reasonName(event.expectedReject()), 1L, Long::sum);
        }
        case OUT_OF_ORDER -> outOfOrder++;
        case DUPLICATE -> duplicates++;
        case VALID -> {}
      }
      if (event.fraud()) {
        fraud++;
      }
    }
  }
}
