package dev.streamscore.launcher;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.featurestore.FeatureNode;
import dev.streamscore.featurestore.FeatureStoreException;
import dev.streamscore.proto.ServerTransport;
import java.io.PrintWriter;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code streamscore feature-store}: a standalone feature-store node — the same library {@code up}
 * embeds — replicating the feature topics of an existing cluster and serving them over gRPC until
 * SIGINT or SIGTERM. Close order: the {@link FeatureNode}, then the data directory.
 */
@Command(
    name = "feature-store",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a standalone feature store: features.<view> topics into RocksDB, served over gRPC.",
      "",
      "Replicates every features.<view> topic of a Kafka cluster into a local RocksDB store and",
      "serves it (FeatureService) until interrupted. Prints 'features: address', then 'ready'."
    })
final class FeatureStoreCommand implements Callable<Integer> {

  @CommandLine.Mixin KafkaOption kafkaOption;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      defaultValue = "" + PlatformConfig.DEFAULT_FEATURES_PORT,
      description =
          "Port of the FeatureService on 127.0.0.1; 0 for any free port (default: ${DEFAULT-VALUE}).")
  int port;

  @CommandLine.Mixin StateOptions state;

  @CommandLine.Mixin PartitionsOption partitions;

  @CommandLine.Mixin ServerSecurityOptions serverSecurity;

  @CommandLine.Spec CommandLine.Model.CommandSpec command;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = command.commandLine().getOut();
    FeatureSpec spec = state.spec();
    if (spec.views().isEmpty()) {
      throw new StartupException("the spec declares no views; there is nothing to serve");
    }
    var held = partitions.held();
    PlatformSecurity security = serverSecurity.security();
    DataDir dir = DataDir.open(state.dataDir());
    FeatureNode node;
    try {
      node =
          FeatureNode.start(
              new FeatureNode.Config(
                  dir.resolve("feature-store"), Optional.of(kafkaOption.bootstrap), held),
              spec,
              Optional.of(ServerTransport.tcp(security.host(), port, security.server())),
              () -> "",
              Clock.systemUTC());
    } catch (RuntimeException e) {
      dir.close();
      if (e instanceof FeatureStoreException
          || e instanceof IllegalStateException
          || e instanceof IllegalArgumentException) {
        throw new StartupException("cannot start the feature store: " + e.getMessage(), e);
      }
      throw new StartupException(
          "cannot start the feature store: Kafka at "
              + kafkaOption.bootstrap
              + ": "
              + e.getMessage(),
          e);
    }
    Serving.untilStopped(
        out,
        "feature-store",
        Map.of("features", node.address().orElseThrow()),
        List.<AutoCloseable>of(node, dir::close));
    return 0;
  }
}
