package dev.streamscore.launcher.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamscore.launcher.EtlProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * A Flink standalone session cluster — a JobManager and a TaskManager, each its own JVM started
 * with Flink's own entry points from {@code flink-runtime} — and the thin ETL job jar submitted to
 * it with Flink's own client ({@code flink run -d}). Flink's distribution is not needed: its shell
 * scripts' work (memory sizing through {@code BashJavaUtils}, the JVM flags) is done here.
 *
 * <p>Without high availability a JobManager that dies takes its jobs with it: starting it again
 * resubmits the job from its latest retained checkpoint, which holds the job's state and its Kafka
 * offsets, so nothing is lost or counted twice (the sink is transactional).
 */
final class FlinkSession {
  static final String JOB_MANAGER = "flink-jobmanager";
  static final String TASK_MANAGER = "flink-taskmanager";
  private static final String JOB_PREFIX = "streamscore-etl ";

  private final Layout layout;
  private final Path home;
  private final RestJson rest;

  /**
   * Flink's memory sizing per process kind: a JVM run each, seconds on a loaded machine, and the
   * same answer as long as {@code config.yaml} is.
   */
  private final Map<String, List<String>> sizings = new ConcurrentHashMap<>();

  FlinkSession(Layout layout, Path home) {
    this.layout = layout;
    this.home = home;
    this.rest = new RestJson(layout.flinkRestPort());
  }

  /** Writes the cluster's {@code config.yaml}, read by the JobManager, TaskManager and client. */
  void prepare() {
    sizings.clear();
    Path conf = confDir().resolve("config.yaml");
    String yaml =
        String.join(
            "\n",
            "jobmanager:",
            "  rpc:",
            "    address: 127.0.0.1",
            "    port: " + layout.flinkRpcPort(),
            "  bind-host: 127.0.0.1",
            "  memory:",
            "    process:",
            "      size: 1024m",
            "rest:",
            "  address: 127.0.0.1",
            "  bind-address: 127.0.0.1",
            "  port: " + layout.flinkRestPort(),
            "blob:",
            "  server:",
            "    port: " + layout.flinkBlobPort(),
            "taskmanager:",
            "  bind-host: 127.0.0.1",
            "  host: 127.0.0.1",
            "  rpc:",
            "    port: " + layout.taskManagerRpcPort(),
            "  data:",
            "    port: " + layout.taskManagerDataPort(),
            "  numberOfTaskSlots: 2",
            "  memory:",
            "    process:",
            "      size: 1280m",
            "    managed:",
            "      size: 128m",
            "parallelism:",
            "  default: 2",
            // A killed TaskManager is declared lost after 10 s, not 50 s; then the job restarts
            // from its last checkpoint once a TaskManager offers slots again.
            "heartbeat:",
            "  interval: 2000",
            "  timeout: 10000",
            "restart-strategy:",
            "  type: exponential-delay",
            "  exponential-delay:",
            "    initial-backoff: 1 s",
            "    max-backoff: 10 s",
            "io:",
            "  tmp:",
            "    dirs: " + layout.data(TASK_MANAGER).resolve("tmp"),
            "");
    try {
      Files.createDirectories(conf.getParent());
      Files.writeString(conf, yaml, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ClusterException("cannot write " + conf + ": " + e.getMessage(), e);
    }
  }

  List<Member> members() {
    return List.of(member(JOB_MANAGER), member(TASK_MANAGER));
  }

  /** The JobManager or the TaskManager, without sizing the other. */
  Member member(String name) {
    return switch (name) {
      case JOB_MANAGER ->
          process(
              JOB_MANAGER,
              "GET_JM_RESOURCE_PARAMS",
              "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
              layout.flinkRestPort());
      case TASK_MANAGER ->
          process(
              TASK_MANAGER,
              "GET_TM_RESOURCE_PARAMS",
              "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
              layout.taskManagerRpcPort());
      default -> throw new IllegalArgumentException("not a Flink process: " + name);
    };
  }

  /**
   * A JobManager or TaskManager: its JVM's memory flags and its explicit memory settings are what
   * Flink's {@code BashJavaUtils} computes from {@code config.yaml}, as {@code jobmanager.sh} and
   * {@code taskmanager.sh} do (a TaskManager refuses to start without them).
   */
  private Member process(String name, String sizing, String mainClass, int port) {
    List<String> sized = resourceParams(sizing);
    List<String> command = Jvm.base(layout, name, "");
    command.addAll(List.of(sized.get(0).trim().split("\\s+")));
    command.addAll(Jvm.opens(EtlProcess.FLINK_OPENS));
    command.add("-Dlogback.configurationFile=" + layout.conf().resolve("logback.xml"));
    command.addAll(List.of("-cp", classPath(), mainClass, "--configDir", confDir().toString()));
    command.addAll(List.of(sized.get(1).trim().split("\\s+")));
    return new Member(name, command, Map.of(), port, "");
  }

  private List<String> resourceParams(String sizing) {
    return sizings.computeIfAbsent(sizing, this::computeResourceParams);
  }

  private List<String> computeResourceParams(String sizing) {
    List<String> command = Jvm.base(layout, JOB_MANAGER, "128m");
    command.add("-Dlogback.configurationFile=" + layout.conf().resolve("logback.xml"));
    command.addAll(
        List.of(
            "-cp",
            classPath(),
            "org.apache.flink.runtime.util.bash.BashJavaUtils",
            sizing,
            "--configDir",
            confDir().toString()));
    String output = Jvm.runTool(command, Map.of(), Duration.ofSeconds(60), "size Flink's memory");
    List<String> results =
        output
            .lines()
            .filter(l -> l.startsWith("BASH_JAVA_UTILS_EXEC_RESULT:"))
            .map(l -> l.substring("BASH_JAVA_UTILS_EXEC_RESULT:".length()))
            .toList();
    if (results.size() != 2) {
      throw new ClusterException("Flink's memory sizing printed no result:\n" + output);
    }
    return results;
  }

  /** The id of the running ETL job, if the JobManager answers and runs one. */
  Optional<String> runningJob() {
    JsonNode jobs = get("/jobs/overview").map(n -> n.path("jobs")).orElse(null);
    if (jobs == null) {
      return Optional.empty();
    }
    for (JsonNode job : jobs) {
      String state = job.path("state").asText();
      if (job.path("name").asText().startsWith(JOB_PREFIX)
          && (state.equals("RUNNING") || state.equals("CREATED") || state.equals("RESTARTING"))) {
        return Optional.of(job.path("jid").asText());
      }
    }
    return Optional.empty();
  }

  /** Whether the job's tasks all run (after a restart they are scheduled again first). */
  boolean jobRunning() {
    return runningJob()
        .flatMap(id -> get("/jobs/" + id))
        .map(
            job ->
                job.path("state").asText().equals("RUNNING")
                    && job.path("status-counts").path("RUNNING").asInt()
                        == job.path("vertices").size())
        .orElse(false);
  }

  /**
   * Submits the job with {@code flink run -d}, restored from {@code restore} (a savepoint or a
   * retained checkpoint) when given, and returns its id.
   */
  String submit(String bootstrap, Optional<Path> spec, Optional<Path> restore) {
    Path jar = home.resolve("stream-etl/flink/target/streamscore-etl-flink-job.jar");
    if (!Files.isRegularFile(jar)) {
      throw new ClusterException(
          jar + " is missing; build it: mvn -B -DskipTests -pl stream-etl/flink -am package");
    }
    List<String> command = Jvm.base(layout, "flink-client", "256m");
    command.addAll(Jvm.opens(EtlProcess.FLINK_OPENS));
    command.add("-Dlogback.configurationFile=" + layout.conf().resolve("logback.xml"));
    command.addAll(
        List.of("-cp", classPath(), "org.apache.flink.client.cli.CliFrontend", "run", "-d"));
    restore.ifPresent(path -> command.addAll(List.of("-s", path.toString())));
    command.add(jar.toString());
    command.addAll(List.of("--bootstrap", bootstrap, "--checkpoint-dir", checkpoints().toString()));
    spec.ifPresent(s -> command.addAll(List.of("--spec", s.toAbsolutePath().toString())));
    String output =
        Jvm.runTool(
            command,
            Map.of("FLINK_CONF_DIR", confDir().toString()),
            Duration.ofMinutes(3),
            "submit the Flink job");
    return output
        .lines()
        .filter(l -> l.startsWith("running " + JOB_PREFIX))
        .map(l -> l.substring(l.lastIndexOf(' ') + 1))
        .findFirst()
        .orElseThrow(() -> new ClusterException("flink run did not start the job:\n" + output));
  }

  /**
   * Stops the job with a savepoint under {@link #checkpoints()} (Flink's stop-with-savepoint: the
   * sources stop, the savepoint completes, the sink commits, the job finishes) and returns the
   * savepoint's directory.
   *
   * @throws ClusterException when Flink refuses or the savepoint fails, with Flink's reason
   */
  Path stopWithSavepoint(String job, Duration timeout) {
    Map<String, Object> body =
        Map.of(
            "targetDirectory",
            checkpoints().resolve("savepoints").toUri().toString(),
            "drain",
            false);
    String trigger = rest.post("/jobs/" + job + "/stop", body).path("request-id").asText();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      JsonNode answer = get("/jobs/" + job + "/savepoints/" + trigger).orElse(null);
      if (answer != null && answer.path("status").path("id").asText().equals("COMPLETED")) {
        JsonNode operation = answer.path("operation");
        if (operation.has("failure-cause")) {
          throw new ClusterException(
              "the savepoint of job "
                  + job
                  + " failed: "
                  + operation
                      .path("failure-cause")
                      .path("stack-trace")
                      .asText()
                      .lines()
                      .findFirst()
                      .orElse("?"));
        }
        return Path.of(java.net.URI.create(operation.path("location").asText()));
      }
      try {
        Thread.sleep(250); // polling Flink's REST API; there is nothing to listen to
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ClusterException("interrupted while waiting for the savepoint", e);
      }
    }
    throw new ClusterException("the savepoint of job " + job + " did not complete in " + timeout);
  }

  /**
   * The newest retained checkpoint or savepoint of any run of the job: a JobManager that died took
   * the job's id with it, so its successor resumes from here.
   */
  Optional<Path> latestCheckpoint() {
    Path root = checkpoints();
    if (!Files.isDirectory(root)) {
      return Optional.empty();
    }
    try (Stream<Path> metadata = Files.find(root, 3, (p, a) -> p.endsWith("_metadata"))) {
      return metadata
          .filter(p -> p.getParent().getFileName().toString().matches("chk-\\d+|savepoint-.+"))
          .max(Comparator.comparing(FlinkSession::modified))
          .map(Path::getParent);
    } catch (IOException e) {
      throw new ClusterException("cannot list " + root + ": " + e.getMessage(), e);
    }
  }

  Path checkpoints() {
    return layout.data("flink-checkpoints");
  }

  private Optional<JsonNode> get(String path) {
    return rest.get(path);
  }

  private Path confDir() {
    return layout.conf().resolve("flink");
  }

  private String classPath() {
    // Flink's own jars: the job jar brings our code, the Kafka connector and its client.
    return Jvm.classPath(
        home.resolve("stream-etl/flink/target/lib"),
        jar ->
            !jar.startsWith("streamscore-")
                && !jar.startsWith("flink-connector-kafka")
                && !jar.startsWith("kafka-clients"));
  }

  private static FileTime modified(Path p) {
    try {
      return Files.getLastModifiedTime(p);
    } catch (IOException e) {
      return FileTime.fromMillis(0);
    }
  }
}
