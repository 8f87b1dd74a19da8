package dev.streamscore.launcher;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.ingest.IngestCounters;
import dev.streamscore.ingest.Validator;
import dev.streamscore.ingest.ValidatorConfig;
import dev.streamscore.proto.Supervised;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code streamscore validator}: one validator instance — the same one {@code up} embeds — joined
 * to the validator's consumer group, restarted with a backoff if it stops, until SIGINT or SIGTERM.
 * Several instances share the raw topics' partitions; each needs its own data directory (its Kafka
 * Streams identity lives there). Close order: the validator, then the data directory.
 */
@Command(
    name = "validator",
    mixinStandardHelpOptions = true,
    description = {
      "Runs one validator: raw.<source> -> events.<source> | events.dlq, exactly once.",
      "",
      "Instances started with the same --kafka share the raw partitions through one consumer",
      "group; give each its own --data-dir and keep it across restarts, so that a restart after",
      "a crash fences the dead instance's open transaction at once. Prints 'validator: ...',",
      "then 'ready'."
    })
final class ValidatorCommand implements Callable<Integer> {
  @CommandLine.Mixin KafkaOption kafkaOption;

  @CommandLine.Mixin StateOptions state;

  @CommandLine.Spec CommandLine.Model.CommandSpec command;

  @Override
  public Integer call() throws InterruptedException {
    FeatureSpec spec = state.spec();
    DataDir dir = DataDir.open(state.dataDir());
    ValidatorConfig config =
        ValidatorConfig.defaults(kafkaOption.bootstrap, dir.resolve("validator"));
    Supervised<Validator> validator;
    try {
      IngestCounters counters = new IngestCounters();
      Clock clock = Clock.systemUTC();
      validator =
          new Supervised<>(
              "validator",
              () -> Validator.start(config, spec, clock, counters),
              Validator::stopReason,
              clock);
    } catch (Exception e) {
      dir.close();
      throw new StartupException(
          "cannot start the validator (Kafka at " + kafkaOption.bootstrap + "): " + e.getMessage(),
          e);
    }
    Serving.untilStopped(
        command.commandLine().getOut(),
        "validator",
        Map.of(
            "validator",
            "raw.* -> events.* | " + config.dlqTopic() + " (group " + config.applicationId() + ")"),
        List.<AutoCloseable>of(validator, dir::close));
    return 0;
  }
}
