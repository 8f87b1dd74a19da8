package dev.streamscore.launcher;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code streamscore} command. */
@Command(
    name = "streamscore",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Streaming features and online scoring on Kafka.",
    subcommands = {
      DemoCommand.class,
      UpCommand.class,
      ProduceCommand.class,
      StatusCommand.class,
      FeatureStoreCommand.class,
      RegistryCommand.class,
      ValidatorCommand.class,
      GatewayCommand.class,
      ScoringNodeCommand.class,
      MonitorCommand.class,
      ModelsCommand.class,
      ConsistencyCommand.class,
      TrainCommand.class,
      TrainingDataCommand.class,
      RunsCommand.class,
      CertsCommand.class,
      dev.streamscore.launcher.cluster.ClusterCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns the exit code; never calls {@code System.exit}. */
  public static int run(String... args) {
    return run(
        new java.io.PrintWriter(System.out, true), new java.io.PrintWriter(System.err, true), args);
  }

  static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
    CommandLine cli = new CommandLine(new Main());
    // The drill trains its model with the launcher's own trainer, so it lives beside it.
    cli.getSubcommands().get("cluster").addSubcommand("drill", new ClusterDrillCommand());
    cli.setOut(out).setErr(err);
    cli.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          // Expected failures (bad configuration, port taken, broker unreachable) are one line.
          if (e instanceof StartupException
              || e instanceof dev.streamscore.launcher.cluster.ClusterException) {
            commandLine.getErr().println("streamscore: " + e.getMessage());
            return 1;
          }
          if (e instanceof io.grpc.StatusRuntimeException s) {
            // A server's refusal (NOT_FOUND, INVALID_ARGUMENT, UNAUTHENTICATED, ...) is one line.
            io.grpc.Status status = s.getStatus();
            commandLine
                .getErr()
                .println(
                    "streamscore: "
                        + status.getCode()
                        + (status.getDescription() == null ? "" : ": " + status.getDescription()));
            return 1;
          }
          throw e;
        });
    cli.setExecutionStrategy(
        parsed -> {
          CommandLine.ParseResult command = parsed;
          while (command.hasSubcommand()) {
            command = command.subcommand();
          }
          try {
            KafkaConfigOption.apply(command);
          } catch (StartupException e) {
            throw new CommandLine.ExecutionException(command.commandSpec().commandLine(), "", e);
          }
          return new CommandLine.RunLast().execute(parsed);
        });
    return cli.execute(args);
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"streamscore " + version()};
    }
  }

  static String version() {
    String v = Main.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}
