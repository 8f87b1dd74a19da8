package dev.streamscore.etl.flink;

import dev.streamscore.etl.EtlJobs;
import dev.streamscore.etl.SpecException;
import dev.streamscore.etl.TopicNames;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.DeploymentOptions;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the ETL job: on a Flink MiniCluster when started with {@code java -jar} (the embedded
 * default, which {@code streamscore up} uses), or on a real cluster with {@code flink run}.
 * Restores from the latest retained checkpoint in {@code --checkpoint-dir}.
 *
 * <p>Standard output carries {@code running <job name>} once the job runs and, with {@code
 * --bounded}, {@code done events=… rows=… rejected.<REASON>=…} when it ends. Exit status 2 for a
 * bad command line or spec, 1 when the job fails.
 */
public final class FlinkEtlMain {
  private static final Logger LOG = LoggerFactory.getLogger(FlinkEtlMain.class);

  private FlinkEtlMain() {}

  public static void main(String[] args) throws Exception {
    EtlOptions options;
    EtlJobs.SpecText spec;
    List<String> sources;
    try {
      options = EtlOptions.parse(args);
      spec = EtlJobs.spec(options.spec());
      sources = EtlJobs.sources(spec.parse(), options.sources());
    } catch (IllegalArgumentException | SpecException e) {
      System.err.println("streamscore-etl-flink: " + e.getMessage());
      System.exit(2);
      return;
    }
    if (options.parentPid() > 0) {
      EtlJobs.exitWithParent(options.parentPid(), "streamscore-etl-flink", LOG::warn);
    }
    System.exit(run(options, spec.yaml(), spec.origin(), sources));
  }

  private static final String FLINK_OPTION = "streamscore.flink.";

  private static int run(
      EtlOptions options, String specYaml, String specOrigin, List<String> sources)
      throws Exception {
    String jobName = "streamscore-etl " + String.join(",", sources);
    Configuration conf = new Configuration();
    // The embedded default listens on loopback only; a cluster ignores these.
    conf.setString("rest.address", "127.0.0.1");
    conf.setString("rest.bind-address", "127.0.0.1");
    conf.setString("rest.bind-port", "0");
    // The BLOB server and RPC otherwise listen on every interface (the wildcard address).
    conf.setString("jobmanager.bind-host", "127.0.0.1");
    conf.setString("jobmanager.rpc.address", "127.0.0.1");
    conf.setString("taskmanager.bind-host", "127.0.0.1");
    conf.setString("taskmanager.host", "127.0.0.1");
    conf.setString("taskmanager.memory.managed.size", "128m");
    conf.setString("state.backend.type", options.rocksdb() ? "rocksdb" : "hashmap");
    conf.setString("execution.checkpointing.incremental", "true");
    // Most reads miss: each new entity's value and each new event id. Without a bloom filter a miss
    // searches every level's index; with 1M entities the job took new ones in at under 3,300/s,
    // with one at 26,000–28,900/s.
    conf.setString("state.backend.rocksdb.use-bloom-filter", "true");
    // A record between the source and the features waits at most this long for its network buffer
    // to fill; under load the buffers fill long before. Flink's default, 100 ms, was a third of
    // the at-least-once latency at 5,000 events/s.
    conf.setString("execution.buffer-timeout.interval", "10 ms");
    // Any Flink option, for an operator tuning the embedded job: -Dstreamscore.flink.KEY=VALUE.
    for (String name : System.getProperties().stringPropertyNames()) {
      if (name.startsWith(FLINK_OPTION)) {
        conf.setString(name.substring(FLINK_OPTION.length()), System.getProperty(name));
      }
    }
    // Submitted to a session cluster (`flink run`), the client decides what to restore from
    // (`-s`), and a fixed job id would be refused as a duplicate when the job is submitted again.
    boolean onCluster = onCluster();
    JobID jobId = jobId(jobName);
    if (!onCluster) {
      // One job id per set of sources, so its checkpoints are always found in the same place.
      conf.setString("$internal.pipeline.job-id", jobId.toHexString());
    }
    if (options.checkpointDir().isPresent()) {
      Path dir = options.checkpointDir().get();
      conf.setString("execution.checkpointing.dir", dir.toUri().toString());
      Optional<Path> latest =
          onCluster ? Optional.empty() : latestCheckpoint(dir.resolve(jobId.toHexString()));
      if (latest.isPresent()) {
        conf.setString("execution.state-recovery.path", latest.get().toUri().toString());
        LOG.info("restoring from checkpoint {}", latest.get());
      }
    }
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
    env.enableCheckpointing(options.checkpointIntervalMs(), CheckpointingMode.EXACTLY_ONCE);
    env.getCheckpointConfig()
        .setExternalizedCheckpointRetention(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
    if (options.parallelism() > 0) {
      env.setParallelism(options.parallelism());
    }
    for (String source : sources) {
      String topic = TopicNames.events(source);
      DataStream<EventRecord> events =
          env.fromSource(
                  FeatureJob.source(
                      options.bootstrap(),
                      options.kafka(),
                      topic,
                      options.groupId(),
                      options.bounded() ? Boundedness.BOUNDED : Boundedness.CONTINUOUS_UNBOUNDED),
                  WatermarkStrategy.noWatermarks(),
                  topic)
              .uid("source-" + source);
      FeatureJob.features(
              events, specYaml, specOrigin, source, options.dlqTopic(), options.emitIntervalMs())
          .sinkTo(
              FeatureJob.sink(
                  options.bootstrap(),
                  options.kafka(),
                  options.exactlyOnce()
                      ? DeliveryGuarantee.EXACTLY_ONCE
                      : DeliveryGuarantee.AT_LEAST_ONCE,
                  "streamscore-etl-flink-" + source))
          .name("kafka: features + " + options.dlqTopic())
          .uid("sink-" + source);
    }
    JobClient client = env.executeAsync(jobName);
    if (onCluster && !env.getConfiguration().get(DeploymentOptions.ATTACHED)) {
      // `flink run -d`: the job belongs to the cluster now; cancelling it is the operator's call.
      awaitRunning(client);
      System.out.println("running " + jobName + " " + client.getJobID());
      System.out.flush();
      return 0;
    }
    Thread stopper =
        new Thread(
            () -> {
              try {
                client.cancel().get(30, TimeUnit.SECONDS);
              } catch (Exception e) {
                // already finished, or the cluster is gone
              }
            },
            "etl-stopper");
    Runtime.getRuntime().addShutdownHook(stopper);
    awaitRunning(client);
    System.out.println("running " + jobName);
    System.out.flush();
    if (options.parentPid() > 0) {
      // For the platform that launched the job (a console running `flink run` is spared them).
      // Accumulators reach the client with the TaskManagers' heartbeats: counts lag by seconds.
      EtlJobs.printCounts(
          () -> {
            try {
              return Optional.of(longs(client.getAccumulators().get(5, TimeUnit.SECONDS)));
            } catch (Exception e) {
              return Optional.empty(); // finishing, or restarting: the next round tells
            }
          });
    }
    LOG.info(
        "running {} ({} delivery, {} state, checkpoint every {} ms)",
        jobName,
        options.exactlyOnce() ? "exactly-once" : "at-least-once",
        options.rocksdb() ? "RocksDB" : "heap",
        options.checkpointIntervalMs());
    JobExecutionResult result;
    try {
      result = client.getJobExecutionResult().get();
    } catch (Exception e) {
      LOG.error("job {} failed: {}", jobName, rootMessage(e));
      return 1;
    }
    try {
      Runtime.getRuntime().removeShutdownHook(stopper);
    } catch (IllegalStateException e) {
      // shutting down already
    }
    System.out.println("done " + EtlJobs.counts(longs(result.getAllAccumulatorResults())));
    LOG.info("finished {} in {} ms", jobName, result.getNetRuntime());
    return 0;
  }

  /** The accumulators that are counts. */
  private static Map<String, Long> longs(Map<String, Object> accumulators) {
    Map<String, Long> out = new TreeMap<>();
    accumulators.forEach(
        (name, value) -> {
          if (value instanceof Long n) {
            out.put(name, n);
          }
        });
    return out;
  }

  /** Whether a client ({@code flink run}) submits us to a cluster, rather than a MiniCluster. */
  private static boolean onCluster() {
    String target =
        StreamExecutionEnvironment.getExecutionEnvironment()
            .getConfiguration()
            .get(DeploymentOptions.TARGET);
    return target != null && !target.equals("local");
  }

  private static void awaitRunning(JobClient client) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline) {
      JobStatus status = client.getJobStatus().get(10, TimeUnit.SECONDS);
      if (status == JobStatus.RUNNING || status.isGloballyTerminalState()) {
        return;
      }
      Thread.sleep(50); // polling the job's status; there is no listener for it
    }
    throw new IllegalStateException("the job did not start running within 120 s");
  }

  /** The retained checkpoint with the highest number that completed (has its metadata). */
  static Optional<Path> latestCheckpoint(Path jobDir) throws IOException {
    if (!Files.isDirectory(jobDir)) {
      return Optional.empty();
    }
    try (Stream<Path> children = Files.list(jobDir)) {
      return children
          .filter(p -> p.getFileName().toString().matches("chk-\\d+"))
          .filter(p -> Files.isRegularFile(p.resolve("_metadata")))
          .max(
              (a, b) ->
                  Long.compare(
                      Long.parseLong(a.getFileName().toString().substring(4)),
                      Long.parseLong(b.getFileName().toString().substring(4))));
    }
  }

  static JobID jobId(String jobName) {
    java.util.UUID uuid =
        java.util.UUID.nameUUIDFromBytes(jobName.getBytes(StandardCharsets.UTF_8));
    return new JobID(uuid.getLeastSignificantBits(), uuid.getMostSignificantBits());
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + ": " + t.getMessage();
  }
}
