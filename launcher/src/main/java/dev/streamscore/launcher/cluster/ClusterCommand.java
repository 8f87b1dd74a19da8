package dev.streamscore.launcher.cluster;

import dev.streamscore.launcher.EtlProcess;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code streamscore cluster}: the platform as a real multi-process cluster on this machine (see
 * {@link LocalCluster}); {@code deploy/local-cluster} is a shorthand for it.
 */
@Command(
    name = "cluster",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the platform as a cluster of separate processes on this machine.",
      "",
      "3 Kafka brokers, a Flink session (or Spark standalone) cluster running the ETL job, the",
      "registry, 2 validators, 2 scoring nodes and 2 gateways, each its own process on",
      "127.0.0.1 with its own port and data directory under --dir. They outlive this command;",
      "'status', 'kill', 'start' and 'down' find them again through --dir."
    },
    subcommands = {
      ClusterCommand.Up.class,
      ClusterCommand.Status.class,
      ClusterCommand.Kill.class,
      ClusterCommand.Start.class,
      ClusterCommand.Upgrade.class,
      ClusterCommand.Down.class
    })
public final class ClusterCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec command;

  @Override
  public void run() {
    command.commandLine().usage(command.commandLine().getOut());
  }

  /** Where the cluster lives; every subcommand takes it. */
  static final class Where {
    @Option(
        names = "--dir",
        paramLabel = "DIR",
        defaultValue = "local-cluster",
        description = "The cluster's directory: data, logs, pids (default: ${DEFAULT-VALUE}).")
    Path dir;

    /** The cluster as its directory describes it. */
    LocalCluster existing(PrintWriter out) {
      return open(Optional.empty(), Optional.empty(), Optional.empty(), out);
    }

    LocalCluster open(
        Optional<Integer> basePort,
        Optional<LocalCluster.Etl> etl,
        Optional<Path> spec,
        PrintWriter out) {
      return LocalCluster.open(
          dir,
          basePort,
          etl,
          spec,
          EtlProcess.home(),
          Clock.systemUTC(),
          line -> {
            out.println(line);
            out.flush();
          });
    }
  }

  @Command(
      name = "up",
      mixinStandardHelpOptions = true,
      description = {
        "Starts what is not running, in order, and waits until everything serves.",
        "",
        "Prints 'name: address' lines, then 'ready'. The first up fixes the base port, the ETL",
        "engine and the spec for the directory."
      })
  static final class Up implements Callable<Integer> {
    @CommandLine.Mixin Where where;

    @Option(
        names = "--etl",
        paramLabel = "flink|spark",
        description = "The ETL engine's cluster (default: flink).")
    String etl;

    @Option(
        names = "--base-port",
        paramLabel = "PORT",
        description = "The first of the 80 ports the cluster uses (default: 19100).")
    Integer basePort;

    @Option(
        names = "--spec",
        paramLabel = "FILE",
        description = "The feature-definition spec (default: the shipped payments spec).")
    Path spec;

    @CommandLine.Spec CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
      Optional<LocalCluster.Etl> engine =
          Optional.ofNullable(etl)
              .map(
                  e ->
                      switch (e) {
                        case "flink" -> LocalCluster.Etl.FLINK;
                        case "spark" -> LocalCluster.Etl.SPARK;
                        default ->
                            throw new CommandLine.ParameterException(
                                command.commandLine(), "--etl is flink or spark, not '" + e + "'");
                      });
      PrintWriter out = command.commandLine().getOut();
      where.open(Optional.ofNullable(basePort), engine, Optional.ofNullable(spec), out).up();
      return 0;
    }
  }

  @Command(
      name = "status",
      mixinStandardHelpOptions = true,
      description = "Prints each member's state (down, starting, serving) and the ETL job's.")
  static final class Status implements Callable<Integer> {
    @CommandLine.Mixin Where where;

    @CommandLine.Spec CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
      PrintWriter out = command.commandLine().getOut();
      LocalCluster cluster = where.existing(out);
      cluster.status().forEach(out::println);
      out.flush();
      return 0;
    }
  }

  @Command(
      name = "kill",
      mixinStandardHelpOptions = true,
      description = "Kills one member with SIGKILL (a fault drill's fault).")
  static final class Kill implements Callable<Integer> {
    @CommandLine.Mixin Where where;

    @Parameters(paramLabel = "MEMBER", description = "kafka-1, flink-taskmanager, scoring-2, ...")
    String member;

    @CommandLine.Spec CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
      PrintWriter out = command.commandLine().getOut();
      where.existing(out).kill(member);
      return 0;
    }
  }

  @Command(
      name = "start",
      mixinStandardHelpOptions = true,
      description = "Starts one member again and waits until it serves.")
  static final class Start implements Callable<Integer> {
    @CommandLine.Mixin Where where;

    @Parameters(paramLabel = "MEMBER", description = "kafka-1, flink-taskmanager, scoring-2, ...")
    String member;

    @CommandLine.Spec CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
      PrintWriter out = command.commandLine().getOut();
      where.existing(out).start(member);
      return 0;
    }
  }

  @Command(
      name = "upgrade",
      mixinStandardHelpOptions = true,
      description = {
        "Moves the running Flink job to a new spec through a savepoint, keeping its state.",
        "",
        "The new spec may add views (after the existing ones) and fields; existing views and the",
        "sources' acceptance rules must stay as they are. The job stops with a savepoint, starts",
        "again from it with the new spec, then validators and scoring nodes restart one at a time."
      })
  static final class Upgrade implements Callable<Integer> {
    @CommandLine.Mixin Where where;

    @Option(
        names = "--spec",
        paramLabel = "FILE",
        required = true,
        description = "The new feature-definition spec.")
    Path spec;

    @CommandLine.Spec CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
      PrintWriter out = command.commandLine().getOut();
      Path savepoint = where.existing(out).upgrade(spec);
      out.println("savepoint: " + savepoint);
      out.println("upgraded");
      out.flush();
      return 0;
    }
  }

  @Command(
      name = "down",
      mixinStandardHelpOptions = true,
      description = "Stops every member, clients first and Kafka last; data stays in --dir.")
  static final class Down implements Callable<Integer> {
    @CommandLine.Mixin Where where;

    @CommandLine.Spec CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
      PrintWriter out = command.commandLine().getOut();
      where.existing(out).down();
      return 0;
    }
  }
}
