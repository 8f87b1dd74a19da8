package dev.streamscore.launcher.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.common.Uuid;

/**
 * Three KRaft nodes, each broker and controller, started with Kafka's own server main ({@code
 * kafka.Kafka}) — not our embedded class. Replication factor 3, {@code min.insync.replicas=2},
 * unclean leader election off: any one node may die without losing an acknowledged record or
 * stopping writes.
 */
final class KafkaQuorum {
  /** What {@code kafka.Kafka} logs once it serves (KafkaRaftServer, at INFO in our logback). */
  static final String STARTED = "Kafka Server started";

  private final Layout layout;
  private final Path home;

  KafkaQuorum(Layout layout, Path home) {
    this.layout = layout;
    this.home = home;
  }

  static String name(int i) {
    return "kafka-" + i;
  }

  List<Member> members() {
    List<Member> members = new ArrayList<>();
    for (int i = 1; i <= Layout.BROKERS; i++) {
      List<String> command = Jvm.base(layout, name(i), "384m");
      command.addAll(logging());
      command.addAll(List.of("-cp", classPath(), "kafka.Kafka", properties(i).toString()));
      members.add(new Member(name(i), command, Map.of(), layout.kafkaPort(i), STARTED));
    }
    return members;
  }

  /**
   * Writes each node's properties and, on the first start only, formats its log directory with one
   * cluster id ({@code kafka-storage format}); a formatted directory is left alone.
   */
  void prepare() {
    String clusterId = null;
    for (int i = 1; i <= Layout.BROKERS; i++) {
      Path props = properties(i);
      try {
        Files.createDirectories(props.getParent());
        Files.writeString(props, serverProperties(i), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new ClusterException("cannot write " + props + ": " + e.getMessage(), e);
      }
      if (Files.exists(logDir(i).resolve("meta.properties"))) {
        continue;
      }
      if (clusterId == null) {
        clusterId = Uuid.randomUuid().toString();
      }
      format(i, clusterId);
    }
  }

  private void format(int i, String clusterId) {
    List<String> command = Jvm.base(layout, name(i), "256m");
    command.addAll(logging());
    command.addAll(
        List.of(
            "-cp",
            classPath(),
            "kafka.tools.StorageTool",
            "format",
            "-t",
            clusterId,
            "-c",
            properties(i).toString()));
    Jvm.runTool(command, Map.of(), Duration.ofSeconds(60), "format " + logDir(i));
  }

  private String serverProperties(int i) {
    String voters =
        IntStream.rangeClosed(1, Layout.BROKERS)
            .mapToObj(n -> n + "@127.0.0.1:" + layout.controllerPort(n))
            .collect(Collectors.joining(","));
    Map<String, String> p = new LinkedHashMap<>();
    p.put("process.roles", "broker,controller");
    p.put("node.id", Integer.toString(i));
    p.put("controller.quorum.voters", voters);
    p.put(
        "listeners",
        "PLAINTEXT://127.0.0.1:"
            + layout.kafkaPort(i)
            + ",CONTROLLER://127.0.0.1:"
            + layout.controllerPort(i));
    p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + layout.kafkaPort(i));
    p.put("controller.listener.names", "CONTROLLER");
    p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("log.dirs", logDir(i).toString());
    // Durability: three replicas, two in sync for every acknowledged write, never an unclean
    // leader; the same for the offsets and transaction logs.
    p.put("default.replication.factor", "3");
    p.put("min.insync.replicas", "2");
    p.put("unclean.leader.election.enable", "false");
    p.put("offsets.topic.replication.factor", "3");
    p.put("offsets.topic.num.partitions", "5");
    p.put("transaction.state.log.replication.factor", "3");
    p.put("transaction.state.log.min.isr", "2");
    p.put("transaction.state.log.num.partitions", "5");
    p.put("share.coordinator.state.topic.replication.factor", "3");
    p.put("share.coordinator.state.topic.min.isr", "2");
    p.put("num.partitions", "4");
    p.put("auto.create.topics.enable", "false");
    p.put("group.initial.rebalance.delay.ms", "0");
    // A killed node is noticed in 3 s rather than 9 s; loopback heartbeats are cheap.
    p.put("broker.session.timeout.ms", "3000");
    p.put("broker.heartbeat.interval.ms", "500");
    // Small footprint: three brokers share a 2-core machine with everything else.
    p.put("log.cleaner.dedupe.buffer.size", "2097152");
    p.put("log.cleaner.threads", "1");
    p.put("num.network.threads", "2");
    p.put("num.io.threads", "2");
    p.put("background.threads", "2");
    p.put("num.replica.fetchers", "1");
    p.put("log.index.size.max.bytes", "1048576");
    return p.entrySet().stream()
            .map(e -> e.getKey() + "=" + e.getValue())
            .collect(Collectors.joining("\n"))
        + "\n";
  }

  private List<String> logging() {
    return List.of("-Dlogback.configurationFile=" + layout.conf().resolve("logback.xml"));
  }

  private String classPath() {
    return Jvm.classPath(home.resolve("launcher/target/lib"), jar -> true);
  }

  private Path properties(int i) {
    return layout.conf().resolve(name(i) + ".properties");
  }

  private Path logDir(int i) {
    return layout.data(name(i)).resolve("log");
  }
}
