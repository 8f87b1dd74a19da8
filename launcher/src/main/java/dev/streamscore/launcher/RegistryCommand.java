package dev.streamscore.launcher;

import dev.streamscore.modelsync.RegistryServer;
import dev.streamscore.proto.ServerTransport;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code streamscore registry}: a standalone model registry, the same server {@code up} runs, until
 * SIGINT or SIGTERM. Close order: the gRPC server, then the journal, then the data directory.
 */
@Command(
    name = "registry",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the model registry (gRPC ModelRegistry) until interrupted.",
      "",
      "Prints 'registry: address', then 'ready'. Writes need the token in $"
          + PlatformConfig.TOKEN_ENV
          + " when that is set."
    })
final class RegistryCommand implements Callable<Integer> {

  @Option(
      names = "--port",
      paramLabel = "PORT",
      defaultValue = "" + PlatformConfig.DEFAULT_REGISTRY_PORT,
      description = "Port on 127.0.0.1; 0 for any free port (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(
      names = "--data-dir",
      paramLabel = "DIR",
      description =
          "Keep artifacts and the journal here (default: a temporary directory, deleted on exit).")
  Path dataDir;

  @CommandLine.Mixin ServerSecurityOptions serverSecurity;

  @CommandLine.Spec CommandLine.Model.CommandSpec command;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = command.commandLine().getOut();
    Optional<String> token =
        Optional.ofNullable(System.getenv(PlatformConfig.TOKEN_ENV)).filter(t -> !t.isBlank());
    if (token.isPresent() && serverSecurity.hasAccessPolicy()) {
      throw new StartupException(
          PlatformConfig.TOKEN_ENV
              + " and --access exclude each other: give the token a line in"
              + " the policy");
    }
    PlatformSecurity security = serverSecurity.security();
    DataDir dir = DataDir.open(Optional.ofNullable(dataDir));
    RegistryServer server;
    try {
      server =
          RegistryServer.start(
              ServerTransport.tcp(security.host(), port, security.server()),
              dir.resolve("registry"),
              token,
              Clock.systemUTC());
    } catch (IllegalStateException | UncheckedIOException e) {
      dir.close();
      throw new StartupException("cannot start the model registry: " + e.getMessage(), e);
    }
    Serving.untilStopped(
        out,
        "registry",
        Map.of("registry", server.address()),
        List.<AutoCloseable>of(server, dir::close));
    return 0;
  }
}
