package dev.streamscore.launcher.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamscore.launcher.EtlProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A Spark standalone cluster — a Master and a Worker, each its own JVM, both from {@code
 * spark-core} — and the ETL job jar submitted to it with Spark's own submit path ({@code
 * SparkSubmit}, cluster deploy mode, {@code --supervise}): the Worker runs the driver, and the
 * Master starts it again if it dies. A Worker launches drivers and executors through Spark's
 * launcher, which wants {@code $SPARK_HOME/jars}; a directory of links to the Maven jars serves.
 */
final class SparkStandalone {
  static final String MASTER = "spark-master";
  static final String WORKER = "spark-worker";
  private static final String MAIN_CLASS = "dev.streamscore.etl.spark.SparkEtlMain";

  private final Layout layout;
  private final Path home;
  private final RestJson rest;

  SparkStandalone(Layout layout, Path home) {
    this.layout = layout;
    this.home = home;
    this.rest = new RestJson(layout.sparkMasterUiPort());
  }

  /**
   * Makes {@code SPARK_HOME}: {@code jars/} links to Spark's jars (the job jar brings our code and
   * the Kafka connector), {@code conf/} a quiet log4j2 configuration every Spark JVM reads.
   */
  void prepare() {
    Path lib = home.resolve("stream-etl/spark/target/lib");
    Path jars = sparkHome().resolve("jars");
    try {
      Files.createDirectories(jars);
      try (Stream<Path> old = Files.list(jars)) {
        for (Path link : old.toList()) {
          Files.delete(link);
        }
      }
      for (String entry : Jvm.classPath(lib, SparkStandalone::sparkOwn).split(":")) {
        Path jar = Path.of(entry);
        Files.createSymbolicLink(jars.resolve(jar.getFileName()), jar);
      }
      Path conf = sparkHome().resolve("conf");
      Files.createDirectories(conf);
      Files.writeString(
          conf.resolve("log4j2.properties"),
          String.join(
              "\n",
              "rootLogger.level = warn",
              "rootLogger.appenderRef.stderr.ref = console",
              "appender.console.type = Console",
              "appender.console.name = console",
              "appender.console.target = SYSTEM_ERR",
              "appender.console.layout.type = PatternLayout",
              "appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1} - %m%n",
              "logger.master.name = org.apache.spark.deploy",
              "logger.master.level = info",
              "logger.streamscore.name = dev.streamscore",
              "logger.streamscore.level = info",
              ""),
          StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ClusterException("cannot prepare " + sparkHome() + ": " + e.getMessage(), e);
    }
  }

  List<Member> members() {
    List<String> master = Jvm.base(layout, MASTER, "512m");
    master.addAll(Jvm.opens(EtlProcess.SPARK_OPENS));
    master.addAll(
        List.of(
            "-cp",
            classPath(),
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            Integer.toString(layout.sparkMasterPort()),
            "--webui-port",
            Integer.toString(layout.sparkMasterUiPort())));
    List<String> worker = Jvm.base(layout, WORKER, "512m");
    worker.addAll(Jvm.opens(EtlProcess.SPARK_OPENS));
    worker.addAll(
        List.of(
            "-cp",
            classPath(),
            "org.apache.spark.deploy.worker.Worker",
            "--host",
            "127.0.0.1",
            "--port",
            Integer.toString(layout.sparkWorkerPort()),
            "--webui-port",
            Integer.toString(layout.sparkWorkerUiPort()),
            "--cores",
            "2",
            "--memory",
            "2g",
            "--work-dir",
            layout.data(WORKER).resolve("work").toString(),
            masterUrl()));
    return List.of(
        new Member(MASTER, master, env(), layout.sparkMasterUiPort(), ""),
        new Member(WORKER, worker, env(), layout.sparkWorkerUiPort(), ""));
  }

  /** The ETL driver's id, if the Master answers and has one submitted or running. */
  Optional<String> activeDriver() {
    return master()
        .map(m -> m.path("activedrivers"))
        .flatMap(
            drivers -> {
              for (JsonNode driver : drivers) {
                if (driver.path("mainclass").asText().equals(MAIN_CLASS)) {
                  return Optional.of(driver.path("id").asText());
                }
              }
              return Optional.empty();
            });
  }

  /** Whether the driver runs and its executor does too. */
  boolean jobRunning() {
    return master()
        .map(
            m -> {
              boolean driver = false;
              for (JsonNode d : m.path("activedrivers")) {
                driver |=
                    d.path("mainclass").asText().equals(MAIN_CLASS)
                        && d.path("state").asText().equals("RUNNING");
              }
              boolean app = false;
              for (JsonNode a : m.path("activeapps")) {
                app |= a.path("state").asText().equals("RUNNING");
              }
              return driver && app;
            })
        .orElse(false);
  }

  /**
   * Submits the job in cluster deploy mode with {@code --supervise}; its streaming queries resume
   * from their checkpoints, so a resubmitted job neither loses nor repeats a row.
   */
  String submit(String bootstrap, Optional<Path> spec) {
    Path jar = home.resolve("stream-etl/spark/target/streamscore-etl-spark-job.jar");
    if (!Files.isRegularFile(jar)) {
      throw new ClusterException(
          jar + " is missing; build it: mvn -B -DskipTests -pl stream-etl/spark -am package");
    }
    List<String> command = Jvm.base(layout, "spark-submit", "256m");
    command.addAll(Jvm.opens(EtlProcess.SPARK_OPENS));
    command.addAll(
        List.of(
            "-cp",
            classPath(),
            "org.apache.spark.deploy.SparkSubmit",
            "--master",
            masterUrl(),
            "--deploy-mode",
            "cluster",
            "--supervise",
            "--class",
            MAIN_CLASS,
            "--conf",
            "spark.driver.memory=768m",
            "--conf",
            "spark.executor.memory=768m",
            "--conf",
            "spark.cores.max=1",
            "--conf",
            "spark.ui.enabled=false",
            // State is partitioned like the events topics; Spark's default of 200 shuffle
            // partitions makes every micro-batch open 200 state stores. Fixed by the first
            // checkpoint.
            "--conf",
            "spark.sql.shuffle.partitions=4",
            jar.toString(),
            "--bootstrap",
            bootstrap,
            "--checkpoint-dir",
            checkpoints().toString()));
    spec.ifPresent(s -> command.addAll(List.of("--spec", s.toAbsolutePath().toString())));
    String output = Jvm.runTool(command, env(), Duration.ofMinutes(3), "submit the Spark job");
    return output
        .lines()
        .filter(l -> l.contains("Driver successfully submitted as "))
        .map(l -> l.substring(l.lastIndexOf(' ') + 1))
        .findFirst()
        .orElseThrow(() -> new ClusterException("spark-submit did not submit the job:\n" + output));
  }

  Path checkpoints() {
    return layout.data("spark-checkpoints");
  }

  String masterUrl() {
    return "spark://127.0.0.1:" + layout.sparkMasterPort();
  }

  private Optional<JsonNode> master() {
    return rest.get("/json/");
  }

  private Map<String, String> env() {
    return Map.of(
        "SPARK_HOME", sparkHome().toString(),
        // The launcher otherwise looks for a source build's directories to learn this.
        "SPARK_SCALA_VERSION", "2.13",
        // Spark otherwise resolves the host name and binds to the external interface.
        "SPARK_LOCAL_IP", "127.0.0.1");
  }

  private String classPath() {
    return sparkHome().resolve("jars") + "/*";
  }

  private Path sparkHome() {
    return layout.data("spark-home");
  }

  private static boolean sparkOwn(String jar) {
    return !jar.startsWith("streamscore-")
        && !jar.startsWith("spark-sql-kafka")
        && !jar.startsWith("spark-token-provider-kafka")
        && !jar.startsWith("kafka-clients")
        && !jar.startsWith("commons-pool2");
  }
}
