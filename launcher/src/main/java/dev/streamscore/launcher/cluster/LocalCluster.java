package dev.streamscore.launcher.cluster;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.featurestore.FeatureTopics;
import dev.streamscore.kafka.KafkaClients;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListTopicsOptions;

/**
 * The whole platform as separate OS processes on 127.0.0.1, each with its own port and data
 * directory under one directory: three KRaft brokers, the ETL engine's cluster (Flink session or
 * Spark standalone) running the job, the registry, two validators, two scoring nodes and two
 * gateways. Processes outlive the command that started them; the directory's pid files find them
 * again.
 *
 * <p>{@link #up} is idempotent: it starts what is not running, in dependency order, and waits until
 * everything serves. {@link #kill} (SIGKILL) and {@link #start} act on one member, for drills.
 */
public final class LocalCluster {
  /** The engine that runs the ETL job. */
  public enum Etl {
    FLINK,
    SPARK
  }

  private static final Duration START_TIMEOUT = Duration.ofMinutes(3);

  private final Layout layout;
  private final Etl etl;

  /** The spec the ETL job and the roles run; an upgrade replaces it. */
  private Optional<Path> spec;

  private final Clock clock;
  private final Consumer<String> progress;
  private final Processes processes;
  private final KafkaQuorum kafka;
  private final FlinkSession flink;
  private final SparkStandalone spark;
  private final Path home;
  private Roles roles;

  /**
   * @param home the repository root, whose build holds the jars
   * @param progress receives one line per step
   */
  public LocalCluster(
      Layout layout,
      Etl etl,
      Optional<Path> spec,
      Path home,
      Clock clock,
      Consumer<String> progress) {
    this.layout = layout;
    this.etl = etl;
    this.spec = spec.map(Path::toAbsolutePath);
    this.clock = clock;
    this.progress = progress;
    this.processes = new Processes(layout, clock);
    this.kafka = new KafkaQuorum(layout, home);
    this.flink = new FlinkSession(layout, home);
    this.spark = new SparkStandalone(layout, home);
    this.home = home;
    this.roles = new Roles(layout, home, this.spec);
  }

  /**
   * The cluster in {@code dir} as it was first started: its base port and ETL engine are kept in
   * the directory, so {@code status}, {@code kill} and {@code down} need nothing else.
   */
  public static LocalCluster open(
      Path dir,
      Optional<Integer> basePort,
      Optional<Etl> etl,
      Optional<Path> spec,
      Path home,
      Clock clock,
      Consumer<String> progress) {
    Settings saved = Settings.of(dir);
    int port =
        saved
            .remembered("base-port", basePort.map(String::valueOf), "19100")
            .transform(Integer::parseInt);
    Etl engine =
        Etl.valueOf(
            saved.remembered("etl", etl.map(e -> e.name().toLowerCase()), "flink").toUpperCase());
    Optional<Path> specFile =
        Optional.ofNullable(
                saved.remembered("spec", spec.map(p -> p.toAbsolutePath().toString()), ""))
            .filter(s -> !s.isEmpty())
            .map(Path::of);
    saved.store();
    return new LocalCluster(new Layout(dir, port), engine, specFile, home, clock, progress);
  }

  public Layout layout() {
    return layout;
  }

  public Etl etl() {
    return etl;
  }

  /** Every member's name, in start order. */
  public List<String> members() {
    List<String> names = new ArrayList<>();
    for (int i = 1; i <= Layout.BROKERS; i++) {
      names.add(KafkaQuorum.name(i));
    }
    names.add(Roles.REGISTRY);
    for (int i = 1; i <= Layout.VALIDATORS; i++) {
      names.add(Roles.validatorName(i));
    }
    if (etl == Etl.FLINK) {
      names.addAll(List.of(FlinkSession.JOB_MANAGER, FlinkSession.TASK_MANAGER));
    } else {
      names.addAll(List.of(SparkStandalone.MASTER, SparkStandalone.WORKER));
    }
    for (int i = 1; i <= Layout.SCORING_NODES; i++) {
      names.add(Roles.scoringName(i));
    }
    for (int i = 1; i <= Layout.GATEWAYS; i++) {
      names.add(Roles.gatewayName(i));
    }
    return names;
  }

  /** Starts whatever is not running, in dependency order, and waits until all of it serves. */
  public void up() {
    Jvm.writeLogging(layout);
    kafka.prepare();
    startAll(kafka.members());
    awaitBrokers();
    startAll(List.of(roles.registry()));
    startAll(List.of(roles.validator(1), roles.validator(2)));
    createFeatureTopics();
    startEtl();
    startAll(List.of(roles.scoringNode(1), roles.scoringNode(2)));
    startAll(List.of(roles.gateway(1), roles.gateway(2)));
    progress.accept("kafka: " + layout.bootstrap());
    progress.accept("registry: 127.0.0.1:" + layout.registryPort());
    progress.accept("scoring: " + layout.scoringTargets());
    progress.accept("ingest: " + String.join(",", layout.gateways()));
    progress.accept(etlAddress());
    progress.accept("ready");
  }

  /** SIGKILLs one member: the drill's fault. */
  public void kill(String name) {
    requireMember(name);
    if (!processes.signal(name, true)) {
      throw new ClusterException(name + " is not running");
    }
    processes.awaitGone(name, Duration.ofSeconds(30));
    progress.accept("killed " + name);
  }

  /**
   * Starts one member again and waits until it serves; a new JobManager is given the job again,
   * from its latest retained checkpoint.
   */
  public void start(String name) {
    start(List.of(name));
  }

  /**
   * Starts several members at once (a host's, after it failed) and waits until all of them serve,
   * as {@link #start(String)} does for one.
   */
  public void start(List<String> names) {
    names.forEach(this::requireMember);
    if (names.stream().anyMatch(n -> n.startsWith("kafka-"))) {
      kafka.prepare();
    }
    startAll(names.stream().map(this::member).toList());
    if (names.stream().anyMatch(n -> n.startsWith("kafka-"))) {
      // Back in full service: every replica it holds has caught up and rejoined the ISR.
      awaitInSync();
    }
    if (names.contains(FlinkSession.JOB_MANAGER) || names.contains(FlinkSession.TASK_MANAGER)) {
      ensureJob();
    } else if (names.contains(SparkStandalone.WORKER)) {
      // The Master relaunches a supervised driver once a Worker has room again.
      await(this::etlRunning, "the ETL job to run");
    }
  }

  /**
   * Upgrades the Flink job to {@code next} without losing state: Flink stops the job with a
   * savepoint, and the same job jar is submitted again with the new spec, restored from it. Views
   * the new spec adds get their topics first, and fill from the events the new job reads; the
   * others continue from their state, unchanged. Then the roles that read the spec are restarted
   * one at a time, so failover clients see no error: the scoring nodes, and the validators if the
   * sources changed. The new spec is copied into the cluster's directory and kept as the cluster's
   * spec.
   *
   * @return the savepoint
   * @throws ClusterException when the cluster runs Spark, no job runs, the spec cannot be read, or
   *     the running job could not continue under it (the reason named)
   */
  public Path upgrade(Path next) {
    if (etl != Etl.FLINK) {
      throw new ClusterException(
          "upgrade stops a Flink job with a savepoint; a Spark query restarts from its checkpoint"
              + " (see the README's upgrade section)");
    }
    FeatureSpec current = featureSpec();
    FeatureSpec wanted;
    try {
      wanted = FeatureSpec.load(next);
    } catch (RuntimeException e) {
      throw new ClusterException(e.getMessage(), e);
    }
    current
        .upgradeProblem(wanted)
        .ifPresent(
            problem -> {
              throw new ClusterException(
                  "cannot upgrade the running job to " + next + ": " + problem);
            });
    String job =
        flink
            .runningJob()
            .orElseThrow(() -> new ClusterException("no Flink job runs; run up first"));
    // Staged beside the cluster's spec, which stays what the running job reads until it stops.
    Path copy = layout.conf().resolve("spec.yaml");
    Path staged = layout.conf().resolve("spec.yaml.next");
    try {
      Files.createDirectories(copy.getParent());
      Files.copy(next, staged, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new ClusterException(
          "cannot copy " + next + " to " + staged + ": " + e.getMessage(), e);
    }
    try (Admin admin = admin()) {
      FeatureTopics.ensure(admin, wanted, Duration.ofSeconds(60));
    }
    Path savepoint = flink.stopWithSavepoint(job, START_TIMEOUT);
    progress.accept("flink job " + job + " stopped with savepoint " + savepoint);
    try {
      Files.move(staged, copy, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new ClusterException(
          "cannot move " + staged + " to " + copy + ": " + e.getMessage(), e);
    }
    spec = Optional.of(copy);
    roles = new Roles(layout, home, spec);
    Settings settings = Settings.of(layout.dir());
    settings.set("spec", copy.toString());
    settings.store();
    String id = flink.submit(layout.bootstrap(), spec, Optional.of(savepoint));
    await(this::etlRunning, "the upgraded job to run");
    progress.accept("flink job " + id + " runs " + next.getFileName() + " from the savepoint");
    List<String> readers = new ArrayList<>();
    // Validators read only the sources: a spec that adds or changes views leaves them as they are.
    if (!wanted.sources().equals(current.sources())) {
      IntStream.rangeClosed(1, Layout.VALIDATORS).forEach(i -> readers.add(Roles.validatorName(i)));
    }
    IntStream.rangeClosed(1, Layout.SCORING_NODES).forEach(i -> readers.add(Roles.scoringName(i)));
    for (String name : readers) {
      if (processes.find(name).isPresent()) {
        stop(List.of(name));
        startAll(List.of(member(name)));
        progress.accept("restarted " + name + " with the new spec");
      }
    }
    return savepoint;
  }

  /** Stops everything, front to back (SIGTERM, then SIGKILL after 30 s). */
  public void down() {
    List<String> names = new ArrayList<>(members());
    Collections.reverse(names);
    // Clients first, Kafka last: each stage stops while what it writes to still runs.
    for (List<String> stage : stages(names)) {
      stop(stage);
    }
    progress.accept("stopped");
  }

  /** SIGTERMs the members, then SIGKILLs those still there after 30 s. */
  private void stop(List<String> names) {
    for (String name : names) {
      processes.signal(name, false);
    }
    for (String name : names) {
      if (!processes.awaitGone(name, Duration.ofSeconds(30))) {
        processes.signal(name, true);
        processes.awaitGone(name, Duration.ofSeconds(10));
      }
    }
  }

  /** One line per member: name, pid or {@code down}, serving or starting, and the ETL job. */
  public List<String> status() {
    List<String> lines = new ArrayList<>();
    for (String name : members()) {
      Optional<ProcessHandle> process = processes.find(name);
      String state =
          process.isEmpty()
              ? "down"
              : (processes.serves(memberStub(name), logOffset(name)) ? "serving" : "starting");
      lines.add(
          String.format("%-18s %-8s %s", name, state, process.map(p -> "pid " + p.pid()).orElse(""))
              .stripTrailing());
    }
    lines.add(
        String.format(
            "%-18s %s",
            "etl-job",
            etl == Etl.FLINK
                ? flink
                    .runningJob()
                    .map(id -> (flink.jobRunning() ? "running " : "starting ") + id)
                    .orElse("not running")
                : spark
                    .activeDriver()
                    .map(id -> (spark.jobRunning() ? "running " : "starting ") + id)
                    .orElse("not running")));
    return lines;
  }

  /** Whether the ETL job runs with all its tasks. */
  public boolean etlRunning() {
    return etl == Etl.FLINK ? flink.jobRunning() : spark.jobRunning();
  }

  /** Whether the member's process is alive and serves. */
  public boolean serves(String name) {
    requireMember(name);
    return processes.find(name).isPresent() && processes.serves(memberStub(name), logOffset(name));
  }

  private void startEtl() {
    if (etl == Etl.FLINK) {
      flink.prepare();
      startAll(flink.members());
    } else {
      spark.prepare();
      startAll(spark.members());
    }
    ensureJob();
  }

  /** Submits the job unless the engine runs it, then waits until all its tasks run. */
  private void ensureJob() {
    if (etl == Etl.FLINK) {
      if (processes.find(FlinkSession.JOB_MANAGER).isEmpty()) {
        return;
      }
      if (flink.runningJob().isEmpty()) {
        Optional<Path> restore = flink.latestCheckpoint();
        String id = flink.submit(layout.bootstrap(), spec, restore);
        progress.accept(
            "flink job " + id + " submitted" + restore.map(r -> " from " + r).orElse(""));
      }
    } else {
      if (processes.find(SparkStandalone.MASTER).isEmpty()) {
        return;
      }
      if (spark.activeDriver().isEmpty()) {
        String id = spark.submit(layout.bootstrap(), spec);
        progress.accept("spark driver " + id + " submitted");
      }
    }
    if (processes
        .find(etl == Etl.FLINK ? FlinkSession.TASK_MANAGER : SparkStandalone.WORKER)
        .isPresent()) {
      await(this::etlRunning, "the ETL job to run");
    }
  }

  private void startAll(List<Member> members) {
    Map<String, Long> offsets = new LinkedHashMap<>();
    for (Member member : members) {
      long offset = processes.start(member);
      if (offset >= 0) {
        saveLogOffset(member.name(), offset);
        progress.accept("starting " + member.name());
      }
      offsets.put(member.name(), logOffset(member.name()));
    }
    for (Member member : members) {
      processes.awaitReady(member, offsets.get(member.name()), START_TIMEOUT);
    }
  }

  private void awaitBrokers() {
    try (Admin admin = admin()) {
      await(
          () -> {
            try {
              return admin.describeCluster().nodes().get().size() == Layout.BROKERS;
            } catch (Exception e) {
              return false;
            }
          },
          "all " + Layout.BROKERS + " brokers to join");
    }
  }

  private void awaitInSync() {
    try (Admin admin = admin()) {
      await(
          () -> {
            try {
              var names =
                  admin.listTopics(new ListTopicsOptions().listInternal(true)).names().get();
              return admin.describeTopics(names).allTopicNames().get().values().stream()
                  .flatMap(t -> t.partitions().stream())
                  .allMatch(p -> p.isr().size() == p.replicas().size());
            } catch (Exception e) {
              return false;
            }
          },
          "every partition's replicas to be in sync");
    }
  }

  private Admin admin() {
    return Admin.create(
        KafkaClients.config(
            layout.bootstrap(),
            Map.of(
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
                5_000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                10_000)));
  }

  /** The spec the ETL job and the roles run. */
  public FeatureSpec featureSpec() {
    return spec.map(FeatureSpec::load).orElseGet(FeatureSpec::shippedPayments);
  }

  private void createFeatureTopics() {
    FeatureSpec features = featureSpec();
    try (Admin admin = admin()) {
      FeatureTopics.ensure(admin, features, Duration.ofSeconds(60));
    }
  }

  private void await(BooleanSupplier condition, String what) {
    Instant deadline = clock.instant().plus(START_TIMEOUT);
    while (!condition.getAsBoolean()) {
      if (clock.instant().isAfter(deadline)) {
        throw new ClusterException("timed out waiting for " + what);
      }
      try {
        Thread.sleep(250); // polling another process's state; there is nothing to listen to
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ClusterException("interrupted while waiting for " + what, e);
      }
    }
  }

  private Member member(String name) {
    return switch (name) {
      case Roles.REGISTRY -> roles.registry();
      case FlinkSession.JOB_MANAGER, FlinkSession.TASK_MANAGER -> flink.member(name);
      case SparkStandalone.MASTER -> spark.members().get(0);
      case SparkStandalone.WORKER -> spark.members().get(1);
      default -> {
        int i = Integer.parseInt(name.substring(name.lastIndexOf('-') + 1));
        if (name.startsWith("kafka-")) {
          yield kafka.members().get(i - 1);
        } else if (name.startsWith("validator-")) {
          yield roles.validator(i);
        } else if (name.startsWith("scoring-")) {
          yield roles.scoringNode(i);
        } else {
          yield roles.gateway(i);
        }
      }
    };
  }

  /** What {@link Processes#serves} needs to know of a member, without building its command. */
  private Member memberStub(String name) {
    int port =
        switch (name) {
          case Roles.REGISTRY -> layout.registryPort();
          case FlinkSession.JOB_MANAGER -> layout.flinkRestPort();
          case FlinkSession.TASK_MANAGER -> layout.taskManagerRpcPort();
          case SparkStandalone.MASTER -> layout.sparkMasterUiPort();
          case SparkStandalone.WORKER -> layout.sparkWorkerUiPort();
          default -> {
            int i = Integer.parseInt(name.substring(name.lastIndexOf('-') + 1));
            if (name.startsWith("kafka-")) {
              yield layout.kafkaPort(i);
            } else if (name.startsWith("scoring-")) {
              yield layout.scoringPort(i);
            } else if (name.startsWith("gateway-")) {
              yield layout.gatewayPort(i);
            }
            yield 0;
          }
        };
    boolean ours =
        name.equals(Roles.REGISTRY)
            || name.startsWith("validator-")
            || name.startsWith("scoring-")
            || name.startsWith("gateway-");
    return new Member(
        name,
        List.of("java"),
        Map.of(),
        port,
        ours ? "ready" : name.startsWith("kafka-") ? KafkaQuorum.STARTED : "");
  }

  /**
   * @throws ClusterException naming the members when {@code name} is not one
   */
  void requireMember(String name) {
    if (!members().contains(name)) {
      throw new ClusterException(
          "no member " + name + " in this cluster; members: " + String.join(", ", members()));
    }
  }

  private String etlAddress() {
    return etl == Etl.FLINK
        ? "flink: http://127.0.0.1:" + layout.flinkRestPort()
        : "spark: "
            + spark.masterUrl()
            + " (UI http://127.0.0.1:"
            + layout.sparkMasterUiPort()
            + ")";
  }

  private void saveLogOffset(String name, long offset) {
    try {
      Files.writeString(layout.pidFile(name).resolveSibling(name + ".log-offset"), offset + "\n");
    } catch (IOException e) {
      throw new ClusterException("cannot write under " + layout.dir() + ": " + e.getMessage(), e);
    }
  }

  private long logOffset(String name) {
    try {
      return Long.parseLong(
          Files.readString(layout.pidFile(name).resolveSibling(name + ".log-offset")).trim());
    } catch (IOException | NumberFormatException e) {
      return 0;
    }
  }

  /** Groups names (already in stop order) into stages that stop together. */
  private static List<List<String>> stages(List<String> names) {
    List<List<String>> stages = new ArrayList<>();
    String previousKind = null;
    for (String name : names) {
      String kind = name.replaceAll("-\\d+$", "");
      if (!kind.equals(previousKind)) {
        stages.add(new ArrayList<>());
        previousKind = kind;
      }
      stages.get(stages.size() - 1).add(name);
    }
    return stages;
  }
}
