package dev.streamscore.launcher;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.PointInTimeRule;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.kafka.KafkaClients;
import dev.streamscore.kafka.KafkaOperationException;
import dev.streamscore.kafka.TopicReader;
import dev.streamscore.modelsync.ModelAlias;
import dev.streamscore.modelsync.OnnxModel;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.scoring.Consistency;
import dev.streamscore.scoring.OnlineConsistency;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code streamscore consistency}: how many stream predictions of a model used exactly the input
 * vector that training data gives the same event (see {@link Consistency}), and how each input
 * differed. Reads {@code events.<source>} and {@code predictions.<model>} whole (committed
 * records), the model's versions from the registry. gRPC predictions are checked against a replay
 * at their log position ({@link OnlineConsistency}).
 */
@Command(
    name = "consistency",
    mixinStandardHelpOptions = true,
    description = {
      "Compares a model's stream predictions with the training rows of their events.",
      "",
      "Rebuilds each prediction's input vector from the events log as training data is built",
      "(by default the log-order rule: the events before it in its entity's log) and compares it",
      "bit for bit with the vector the prediction logged. Prints the identical share, per input",
      "how many differed, and the causes of the differences.",
      "",
      "gRPC predictions that logged their input vector (--grpc-input-log on) are compared with a",
      "replay of the log up to the position their stored features stood at, read at their time."
    })
final class ConsistencyCommand implements Callable<Integer> {
  @Mixin ModelsCommand.Connection connection;

  @Option(
      names = "--model",
      required = true,
      paramLabel = "MODEL",
      description = "The model whose predictions.<model> topic is checked.")
  String model;

  @CommandLine.Mixin KafkaOption kafkaOption;

  @Mixin SpecOption spec;

  @Option(
      names = "--from",
      paramLabel = "TIME",
      description = "Only predictions of events at or after TIME (ISO-8601, 2026-11-27T10:00:00Z).")
  String from;

  @Option(
      names = "--to",
      paramLabel = "TIME",
      description = "Only predictions of events before TIME (ISO-8601).")
  String to;

  @Option(
      names = "--rule",
      paramLabel = "RULE",
      defaultValue = "log-order",
      description =
          "How training rows are built: log-order (the events before it in its entity's log, what"
              + " stream scoring serves; default) or event-time (every event of the log with an"
              + " earlier time).")
  String rule;

  @CommandLine.Spec CommandLine.Model.CommandSpec command;

  private static final Duration READ_TIMEOUT = Duration.ofMinutes(5);

  @Override
  public Integer call() {
    PrintWriter out = command.commandLine().getOut();
    if (!ModelAlias.isName(model)) {
      throw new StartupException(
          "--model must be 1 to 64 of a-z, 0-9, '_' and '-' (fraud), got '"
              + (model.length() <= 80 ? model : model.substring(0, 77) + "...")
              + "'");
    }
    long fromMs = time("--from", from, Long.MIN_VALUE);
    long toMs = time("--to", to, Long.MAX_VALUE);
    if (fromMs >= toMs) {
      throw new StartupException("--from " + from + " is not before --to " + to);
    }
    PointInTimeRule pointInTime;
    try {
      pointInTime = PointInTimeRule.parse(rule);
    } catch (IllegalArgumentException e) {
      throw new StartupException("--rule: " + e.getMessage());
    }
    FeatureSpec spec = this.spec.spec();
    Map<Long, ModelVersionSpec> versions = new HashMap<>();
    for (ModelVersion v : connection.with(client -> client.model(model)).getVersionsList()) {
      versions.put(v.getVersion(), v.getSpec());
    }
    String source = firstSourceWithViews(spec);
    Map<String, Object> props = KafkaClients.config(kafkaOption.bootstrap);
    List<Prediction> predictions = new ArrayList<>();
    List<Prediction> online = new ArrayList<>();
    List<Consistency.Logged> events = new ArrayList<>();
    try {
      TopicReader.readAll(
          props,
          TopicNames.predictions(model),
          READ_TIMEOUT,
          r -> {
            Prediction p = parse(r.value(), Prediction.parser());
            if (p == null) {
              return;
            }
            if (p.getNodeId().equals("stream")) {
              if (p.getEventTimeMs() >= fromMs && p.getEventTimeMs() < toMs) {
                predictions.add(p);
              }
            } else if (!p.getShadow()
                && p.getPredictedAtMs() >= fromMs
                && p.getPredictedAtMs() < toMs) {
              online.add(p);
            }
          });
      TopicReader.readAll(
          props,
          TopicNames.events(source),
          READ_TIMEOUT,
          r -> {
            Event e = parse(r.value(), Event.parser());
            if (e != null) {
              events.add(
                  new Consistency.Logged(
                      new RecordOrigin(r.topic(), r.partition(), r.offset()), e));
            }
          });
    } catch (KafkaOperationException e) {
      throw new StartupException("Kafka at " + kafkaOption.bootstrap + ": " + e.getMessage(), e);
    }
    Consistency.Report report;
    Consistency consistency = new Consistency(spec, source, pointInTime);
    try (VersionModels models = new VersionModels(model)) {
      report = consistency.check(events, versions, predictions, models::score);
    }

    out.println(model + ": " + report.summary() + " (rule: " + pointInTime.option() + ")");
    out.println(model + ": " + report.scoresSummary());
    if (report.withoutInputs() + report.withoutEvent() > 0) {
      out.printf(
          "not compared: %,d without their input vector, %,d whose event or version was not found%n",
          report.withoutInputs(), report.withoutEvent());
    }
    out.printf(
        "%-28s %12s %14s %12s %12s%n", "input", "differ", "served higher", "median", "largest");
    for (Consistency.InputSkew s : report.inputs()) {
      out.printf(
          "%-28s %,12d %,14d %+12.3f %12.3f%n",
          s.input(), s.mismatches(), s.servedHigher(), s.medianDifference(), s.largestDifference());
    }
    if (!report.causes().isEmpty()) {
      out.println("differing values by cause:");
      for (Consistency.Cause cause : Consistency.Cause.values()) {
        long n = report.causes().getOrDefault(cause, 0L);
        if (n > 0) {
          out.printf("  %,12d  %s%n", n, cause.description());
        }
      }
    }
    if (!online.isEmpty()) {
      printOnline(out, model, new OnlineConsistency(spec, source).check(events, versions, online));
    }
    out.flush();
    return 0;
  }

  private static void printOnline(PrintWriter out, String model, OnlineConsistency.Report report) {
    out.println(model + ": " + report.summary());
    if (report.withoutInputs() + report.withoutVersion() > 0) {
      out.printf(
          "  not compared: %,d without their input vector (grpc input log off), %,d whose version"
              + " or entity was not found%n",
          report.withoutInputs(), report.withoutVersion());
    }
    for (Consistency.InputSkew s : report.inputs()) {
      if (s.mismatches() > 0) {
        out.printf(
            "  %-28s %,12d differ, median %+.3f%n",
            s.input(), s.mismatches(), s.medianDifference());
      }
    }
    report.causes().forEach((cause, n) -> out.printf("  %,12d  %s%n", n, cause.description()));
  }

  private static String firstSourceWithViews(FeatureSpec spec) {
    if (spec.views().isEmpty()) {
      throw new StartupException("the spec declares no views; nothing is scored from it");
    }
    return spec.views().values().iterator().next().source();
  }

  private static long time(String option, String text, long absent) {
    if (text == null) {
      return absent;
    }
    try {
      return Instant.parse(text).toEpochMilli();
    } catch (DateTimeParseException | ArithmeticException e) {
      throw new StartupException(
          option + " '" + text + "' is not an ISO-8601 time (2026-11-27T10:00:00Z)");
    }
  }

  /**
   * The model's versions as the node runs them, each downloaded from the registry (sha256 checked)
   * and loaded through ONNX Runtime on first use; closed with the check.
   */
  private final class VersionModels implements AutoCloseable {
    private final String name;
    private final Map<Long, OnnxModel> loaded = new HashMap<>();
    private final java.nio.file.Path dir;

    VersionModels(String name) {
      this.name = name;
      try {
        this.dir = java.nio.file.Files.createTempDirectory("streamscore-consistency");
      } catch (java.io.IOException e) {
        throw new StartupException("cannot create a temporary directory: " + e.getMessage(), e);
      }
    }

    float[] score(long version, float[] row) {
      OnnxModel m = loaded.computeIfAbsent(version, this::load);
      return m.predictBatch(new float[][] {row})[0];
    }

    private OnnxModel load(long version) {
      java.nio.file.Path file = dir.resolve(name + "-" + version + ".onnx");
      try {
        connection.with(
            client -> {
              try {
                client.downloadTo(name, version, file);
              } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
              return file;
            });
      } catch (IllegalStateException | java.io.UncheckedIOException e) {
        throw new StartupException(
            "cannot fetch " + name + " v" + version + ": " + e.getMessage(), e);
      }
      return OnnxModel.load(file);
    }

    @Override
    public void close() {
      loaded.values().forEach(OnnxModel::close);
      try (var files = java.nio.file.Files.list(dir)) {
        for (java.nio.file.Path f : files.toList()) {
          java.nio.file.Files.deleteIfExists(f);
        }
        java.nio.file.Files.deleteIfExists(dir);
      } catch (java.io.IOException e) {
        // A temporary file left behind is not worth failing the check for.
      }
    }
  }

  /** A record that is not ours is skipped: the topics are open to any writer. */
  private static <T> T parse(byte[] value, com.google.protobuf.Parser<T> parser) {
    if (value == null) {
      return null;
    }
    try {
      return parser.parseFrom(value);
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }
}
