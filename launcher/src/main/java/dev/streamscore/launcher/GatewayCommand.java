package dev.streamscore.launcher;

import dev.streamscore.ingest.IngestGateway;
import dev.streamscore.ingest.IngestGatewayConfig;
import dev.streamscore.ingest.IngestGatewayException;
import dev.streamscore.proto.ServerTransport;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code streamscore gateway}: one gRPC ingest gateway — the same one {@code up} embeds — until
 * SIGINT or SIGTERM. Stateless: run as many as the load needs, behind any gRPC balancer.
 */
@Command(
    name = "gateway",
    mixinStandardHelpOptions = true,
    description = {
      "Runs one gRPC ingest gateway (streamscore.v1.Ingest) publishing to raw.<source>.",
      "",
      "Stateless: any number may run against one Kafka cluster. Prints 'ingest: address', then",
      "'ready'."
    })
final class GatewayCommand implements Callable<Integer> {
  @CommandLine.Mixin KafkaOption kafkaOption;

  @CommandLine.Mixin SpecOption spec;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      defaultValue = "" + PlatformConfig.DEFAULT_INGEST_PORT,
      description =
          "Port of the gateway on 127.0.0.1; 0 for any free port (default: ${DEFAULT-VALUE}).")
  int port;

  @CommandLine.Mixin ServerSecurityOptions serverSecurity;

  @CommandLine.Spec CommandLine.Model.CommandSpec command;

  @Override
  public Integer call() throws InterruptedException {
    PlatformSecurity security = serverSecurity.security();
    IngestGateway gateway;
    try {
      gateway =
          IngestGateway.start(
              ServerTransport.tcp(security.host(), port, security.server()),
              IngestGatewayConfig.defaults(kafkaOption.bootstrap).withPort(port),
              spec.spec(),
              Clock.systemUTC());
    } catch (IngestGatewayException e) {
      throw new StartupException("cannot start the ingest gateway: " + e.getMessage(), e);
    }
    Serving.untilStopped(
        command.commandLine().getOut(),
        "gateway",
        Map.of("ingest", gateway.address()),
        List.of(gateway));
    return 0;
  }
}
