package dev.streamscore.launcher;

import dev.streamscore.proto.security.DevCertificates;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code streamscore certs}: certificates for a secured platform. */
@Command(
    name = "certs",
    mixinStandardHelpOptions = true,
    description = "Certificates and credentials for TLS, mutual TLS and roles.",
    subcommands = {CertsCommand.Init.class})
final class CertsCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a subcommand: init");
  }

  /** {@code streamscore certs init DIR}. */
  @Command(
      name = "init",
      mixinStandardHelpOptions = true,
      description =
          "Make a development CA, a server certificate, a client certificate and a token per"
              + " role (producer, reader, scorer, publisher, operator, node) and an access policy"
              + " naming them, in DIR. For development and tests: in production bring your own"
              + " CA's certificates.")
  static final class Init implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "DIR", description = "An empty or new directory.")
    Path dir;

    @Option(
        names = "--server-name",
        paramLabel = "NAME",
        description =
            "Another DNS name or IP address the server certificate is valid for (repeatable);"
                + " localhost, 127.0.0.1, ::1 and this host's name always are.")
    List<String> serverNames = new ArrayList<>();

    @Override
    public Integer call() {
      List<Path> written;
      try {
        written = DevCertificates.init(dir, serverNames, Clock.systemUTC());
      } catch (IllegalStateException | UncheckedIOException e) {
        throw new StartupException(e.getMessage(), e);
      }
      PrintWriter out = spec.commandLine().getOut();
      out.printf(
          "wrote %d files to %s (keys and tokens readable by you only):%n", written.size(), dir);
      out.println(
          "  ca.pem                      the CA: clients trust it (--tls-ca), servers accept");
      out.println("                              client certificates it signed (--tls-client-ca)");
      out.println("  server.pem, server.key      every server (--tls-cert, --tls-key)");
      out.println("  <role>.pem, <role>.key      a client certificate per role, CN=<role>");
      out.println("  <role>.token                a bearer token per role (--token-file)");
      out.println("  access.policy               who is who (--access)");
      out.printf(
          "start a secured platform: streamscore up --tls-cert %1$s/server.pem --tls-key"
              + " %1$s/server.key --tls-client-ca %1$s/ca.pem --access %1$s/access.policy%n",
          dir);
      return 0;
    }
  }
}
