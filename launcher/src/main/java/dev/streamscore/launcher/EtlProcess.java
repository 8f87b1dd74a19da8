package dev.streamscore.launcher;

import dev.streamscore.etl.EtlJobs;
import dev.streamscore.kafka.KafkaClients;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An ETL engine's job in its own JVM (Flink, Spark and the platform must never share a classpath),
 * exactly as a cluster would run the same jar. The child's log goes to our standard error; it
 * watches our pid and exits if we die, so a killed platform leaves no orphan behind.
 *
 * <p>Public for the benchmarks, which run the deployed job the same way.
 *
 * <p>{@link #close()} sends SIGTERM (the job is cancelled, its last checkpoint kept), waits up to
 * 30 s, then kills it.
 */
public final class EtlProcess implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EtlProcess.class);
  private static final String FLINK_JAR = "stream-etl/flink/target/streamscore-etl-flink.jar";
  private static final String SPARK_JAR = "stream-etl/spark/target/streamscore-etl-spark.jar";

  /**
   * The java.base packages Flink 2 reflects into on Java 17 (its serializers and RPC), as its own
   * scripts open them; for every Flink JVM we start.
   */
  public static final List<String> FLINK_OPENS =
      List.of(
          "java.lang",
          "java.lang.invoke",
          "java.lang.reflect",
          "java.io",
          "java.net",
          "java.nio",
          "java.text",
          "java.time",
          "java.util",
          "java.util.concurrent",
          "java.util.concurrent.atomic",
          "sun.nio.ch");

  /** The java.base packages Spark 4's launcher opens on Java 17; for every Spark JVM we start. */
  public static final List<String> SPARK_OPENS =
      List.of(
          "java.lang",
          "java.lang.invoke",
          "java.lang.reflect",
          "java.io",
          "java.net",
          "java.nio",
          "java.util",
          "java.util.concurrent",
          "java.util.concurrent.atomic",
          "jdk.internal.ref",
          "sun.nio.ch",
          "sun.nio.cs",
          "sun.security.action",
          "sun.util.calendar");

  private final String engine;
  private final Process process;
  private final CompletableFuture<String> running = new CompletableFuture<>();
  private final CompletableFuture<String> done = new CompletableFuture<>();
  private volatile boolean stopping;
  private volatile Duration cpuAtDone;
  private volatile Map<String, Long> counts = Map.of();

  private EtlProcess(String engine, Process process) {
    this.engine = engine;
    this.process = process;
    Thread reader = new Thread(this::readStdout, "etl-" + engine + "-stdout");
    reader.setDaemon(true);
    reader.start();
  }

  /**
   * Starts the Flink job on a MiniCluster in a child JVM and waits until it runs.
   *
   * @param workDir checkpoints and scratch files go here
   * @param extraArgs further options of the job's command line ({@code --bounded}, ...)
   * @throws StartupException when the jar is missing, or the job does not run within the timeout
   */
  public static EtlProcess startFlink(
      String bootstrap,
      Path workDir,
      Optional<Path> spec,
      List<String> extraArgs,
      Duration startTimeout) {
    return start(
        "flink",
        FLINK_JAR,
        FLINK_OPENS,
        List.of(),
        bootstrap,
        workDir,
        spec,
        extraArgs,
        startTimeout);
  }

  /**
   * Starts the Spark job in {@code local[2]} in a child JVM, bound to loopback, and waits until it
   * runs.
   *
   * @param workDir checkpoints and scratch files go here
   * @param extraArgs further options of the job's command line ({@code --bounded}, ...)
   * @throws StartupException when the jar is missing, or the job does not run within the timeout
   */
  public static EtlProcess startSpark(
      String bootstrap,
      Path workDir,
      Optional<Path> spec,
      List<String> extraArgs,
      Duration startTimeout) {
    return start(
        "spark",
        SPARK_JAR,
        SPARK_OPENS,
        List.of("-Djdk.reflect.useDirectMethodHandle=false", "-Dspark.ui.enabled=false"),
        bootstrap,
        workDir,
        spec,
        extraArgs,
        startTimeout);
  }

  private static EtlProcess start(
      String engine,
      String jarPath,
      List<String> opens,
      List<String> jvmOptions,
      String bootstrap,
      Path workDir,
      Optional<Path> spec,
      List<String> extraArgs,
      Duration startTimeout) {
    Path jar = home().resolve(jarPath);
    if (!Files.isRegularFile(jar)) {
      throw new StartupException(
          "the "
              + engine
              + " job jar "
              + jar
              + " is missing; build it with: mvn -B -DskipTests -pl stream-etl/"
              + engine
              + " -am package");
    }
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    String opts = System.getenv().getOrDefault("STREAMSCORE_ETL_JAVA_OPTS", "-Xmx768m");
    command.addAll(List.of(opts.trim().split("\\s+")));
    command.add("-XX:+ExitOnOutOfMemoryError");
    // Both engines leave scratch files in java.io.tmpdir on every start.
    command.add("-Djava.io.tmpdir=" + workDir.resolve("tmp"));
    for (String pkg : opens) {
      command.add("--add-opens=java.base/" + pkg + "=ALL-UNNAMED");
    }
    command.addAll(jvmOptions);
    command.addAll(List.of("-jar", jar.toString()));
    command.addAll(
        List.of(
            "--bootstrap", bootstrap,
            "--checkpoint-dir", workDir.resolve("checkpoints").toString(),
            "--parent-pid", Long.toString(ProcessHandle.current().pid())));
    spec.ifPresent(s -> command.addAll(List.of("--spec", s.toAbsolutePath().toString())));
    // The job reaches the cluster as this process does (SASL, TLS).
    KafkaClients.file().ifPresent(f -> command.addAll(List.of("--kafka-config", f.toString())));
    command.addAll(extraArgs);
    try {
      Files.createDirectories(workDir.resolve("tmp"));
      ProcessBuilder builder =
          new ProcessBuilder(command)
              .redirectError(ProcessBuilder.Redirect.INHERIT)
              .redirectInput(ProcessBuilder.Redirect.PIPE);
      // Spark otherwise resolves the host name and binds to the external interface.
      builder.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
      EtlProcess etl = new EtlProcess(engine, builder.start());
      etl.awaitRunning(startTimeout);
      return etl;
    } catch (IOException e) {
      throw new StartupException("cannot start the " + engine + " job: " + e.getMessage(), e);
    }
  }

  /**
   * The repository root: the nearest directory above this code (launcher/target/classes, a jar in
   * launcher/target, or one in another module's target/lib) that holds {@code stream-etl}; the
   * system property {@code streamscore.home} overrides it.
   */
  public static Path home() {
    String override = System.getProperty("streamscore.home");
    if (override != null) {
      return Path.of(override);
    }
    try {
      Path code =
          Path.of(EtlProcess.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      for (Path dir = code.getParent(); dir != null; dir = dir.getParent()) {
        if (Files.isDirectory(dir.resolve("stream-etl"))) {
          return dir;
        }
      }
      return code.getParent();
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  private void readStdout() {
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.startsWith("counts ")) {
          counts = EtlJobs.parseCounts(line.substring("counts ".length()));
        } else if (line.startsWith("running ")) {
          running.complete(line.substring("running ".length()));
        } else if (line.startsWith("done")) {
          // Read now: the process exits right after, and its CPU time goes with it.
          cpuAtDone = process.info().totalCpuDuration().orElse(null);
          done.complete(line.substring(4).trim());
        }
      }
    } catch (IOException e) {
      // the child is gone; waitFor reports how
    }
    int status;
    try {
      status = process.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    if (running.isDone() && !done.isDone() && !stopping) {
      LOG.error("the {} job exited with status {} (its log is above)", engine, status);
    }
    running.completeExceptionally(
        new StartupException(
            "the " + engine + " job exited with status " + status + " before it ran"));
    done.completeExceptionally(
        new IllegalStateException("the " + engine + " job exited with status " + status));
  }

  private void awaitRunning(Duration timeout) {
    try {
      String job = running.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      LOG.info("{} job {} running (pid {})", engine, job, process.pid());
    } catch (TimeoutException e) {
      close();
      throw new StartupException(
          "the " + engine + " job did not start within " + timeout.toSeconds() + " s");
    } catch (ExecutionException e) {
      close();
      throw e.getCause() instanceof StartupException s
          ? s
          : new StartupException(e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      close();
      throw new StartupException("interrupted while starting the " + engine + " job", e);
    }
  }

  /** What the endpoint line shows. */
  String describe() {
    return engine
        + (engine.equals("spark") ? " (local[2], pid " : " (MiniCluster, pid ")
        + process.pid()
        + ")";
  }

  long pid() {
    return process.pid();
  }

  /** Why the job is gone ({@code the flink job exited with status 137}); empty while it runs. */
  public Optional<String> exitReason() {
    return process.isAlive()
        ? Optional.empty()
        : Optional.of("the " + engine + " job exited with status " + process.exitValue());
  }

  String engine() {
    return engine;
  }

  /**
   * Waits for a bounded job to finish and returns its counts ({@code events=… rows=…
   * rejected.LATE=…}).
   */
  public String awaitDone(Duration timeout) throws Exception {
    return done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The job's CPU time (all its threads) when it printed its counts; empty before, or unknown. */
  public Optional<Duration> cpuAtDone() {
    return Optional.ofNullable(cpuAtDone);
  }

  /**
   * The job's counts as it last printed them ({@code events}, {@code rows}, {@code
   * rejected.<REASON>}), since it started: a restarted job counts from zero again. Empty until its
   * first print, {@link EtlJobs#COUNTS_EVERY} after it runs.
   */
  public Map<String, Long> counts() {
    return counts;
  }

  /** SIGKILL, no goodbye: for crash drills. Returns once the process is gone. */
  public void kill() throws InterruptedException {
    stopping = true;
    process.destroyForcibly().waitFor();
  }

  @Override
  public void close() {
    stopping = true;
    if (!process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        LOG.warn("the {} job did not stop within 30 s; killing it", engine);
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
