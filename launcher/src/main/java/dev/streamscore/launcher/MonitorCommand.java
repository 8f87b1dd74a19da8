package dev.streamscore.launcher;

import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.scoring.monitor.MonitorConfig;
import dev.streamscore.scoring.monitor.MonitorMetrics;
import dev.streamscore.scoring.monitor.PredictionMonitor;
import dev.streamscore.scoring.monitor.RegistryVersions;
import io.grpc.ManagedChannel;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code streamscore monitor}: the prediction monitor alone, as every scoring node runs it, for a
 * cluster that wants one drift view rather than one per node. It keeps no state: killed and started
 * again, it reads its windows back from the prediction log. Close order: the metrics endpoint, the
 * monitor, then the registry channel.
 */
@Command(
    name = "monitor",
    mixinStandardHelpOptions = true,
    description = {
      "Watches every model's predictions for drift against each version's reference profile.",
      "",
      "Prints 'metrics: URL', then 'ready'; runs until interrupted. See streamscore models drift."
    })
final class MonitorCommand implements Callable<Integer> {
  @Mixin KafkaOption kafka;

  @Mixin ClientSecurityOptions registrySecurity;

  @Option(
      names = "--registry",
      paramLabel = "HOST:PORT",
      defaultValue = "127.0.0.1:" + PlatformConfig.DEFAULT_REGISTRY_PORT,
      description = "The model registry, for the versions' profiles (default: ${DEFAULT-VALUE}).")
  String registry;

  @Option(
      names = "--metrics-port",
      paramLabel = "PORT",
      defaultValue = "0",
      description = "Port of the Prometheus endpoint on 127.0.0.1; 0 for any free port.")
  int metricsPort;

  @Option(
      names = "--windows",
      paramLabel = "LABEL=DURATION",
      split = ",",
      defaultValue = "5m=PT5M,1h=PT1H",
      description = "The windows, as ISO-8601 durations (default: ${DEFAULT-VALUE}).")
  Map<String, String> windows;

  @Option(
      names = "--bucket",
      paramLabel = "DURATION",
      defaultValue = "PT1M",
      description = "What windows are made of; each is a whole number (default: ${DEFAULT-VALUE}).")
  String bucket;

  @Option(
      names = "--min-rows",
      paramLabel = "N",
      defaultValue = "1000",
      description =
          "Rows a window needs before its drift is worth an alert (default: ${DEFAULT-VALUE}).")
  long minRows;

  @Option(
      names = "--label-field",
      paramLabel = "SOURCE:FIELD",
      defaultValue = "none",
      description =
          "An event field that labels the event's own prediction; none for labels.* topics only"
              + " (default: ${DEFAULT-VALUE}).")
  String labelField;

  @Option(
      names = "--label-horizon",
      paramLabel = "DURATION",
      defaultValue = "PT1H",
      description = "How far apart a prediction and its label may be (default: ${DEFAULT-VALUE}).")
  String labelHorizon;

  @CommandLine.Spec CommandLine.Model.CommandSpec command;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = command.commandLine().getOut();
    MonitorConfig config = config();
    ManagedChannel channel = registrySecurity.security().channel(registry).build();
    PredictionMonitor monitor =
        PredictionMonitor.start(
            kafka.bootstrap,
            new RegistryVersions(
                new RegistryClient(
                    channel,
                    Optional.ofNullable(System.getenv(PlatformConfig.TOKEN_ENV))
                        .filter(t -> !t.isBlank()),
                    "monitor"),
                Clock.systemUTC()),
            config,
            Clock.systemUTC());
    PrometheusRegistry metrics = new PrometheusRegistry();
    metrics.register(new MonitorMetrics(monitor));
    HTTPServer endpoint;
    try {
      endpoint = Platform.metricsEndpoint(metrics, metricsPort);
    } catch (RuntimeException e) {
      monitor.close();
      channel.shutdownNow();
      throw e;
    }
    Serving.untilStopped(
        out,
        "monitor",
        Map.of("metrics", Platform.metricsUrl(endpoint)),
        List.<AutoCloseable>of(
            endpoint, monitor, () -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS)));
    return 0;
  }

  private MonitorConfig config() {
    try {
      List<MonitorConfig.Window> list = new ArrayList<>();
      windows.forEach(
          (label, length) -> list.add(new MonitorConfig.Window(label, Duration.parse(length))));
      return new MonitorConfig(Duration.parse(bucket), list, minRows)
          .withLabels(Duration.parse(labelHorizon), UpCommand.labelFields(labelField));
    } catch (IllegalArgumentException | java.time.format.DateTimeParseException e) {
      throw new StartupException("bad monitor settings: " + e.getMessage());
    }
  }
}
