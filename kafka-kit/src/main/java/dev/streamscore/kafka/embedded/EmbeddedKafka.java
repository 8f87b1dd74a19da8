package dev.streamscore.kafka.embedded;

import dev.streamscore.kafka.KafkaOperationException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka broker (KRaft, combined broker and controller) running inside this JVM,
 * listening on 127.0.0.1 only.
 *
 * <p>It is the same server code as a production broker ({@code kafka.server.KafkaRaftServer}),
 * tuned for a small footprint: few threads, a 2 MiB log-cleaner buffer instead of 128 MiB,
 * replication factor 1 for internal topics, 5 partitions for the offsets and transaction logs.
 * Transactions and compaction work as on a cluster, so exactly-once pipelines can be tested against
 * it.
 *
 * <p>Start with {@link #start(EmbeddedKafkaConfig)}; {@link #close()} shuts the broker down and
 * waits for it, then deletes the log directory if it was temporary. Thread-safe.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);
  private static final String HOST = "127.0.0.1";
  private static final int NODE_ID = 1;
  private static final int MAX_BIND_ATTEMPTS = 3;

  private final KafkaRaftServer server;
  private final int port;
  private final Path logDir;
  private final boolean temporary;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Optional<EmbeddedKafkaConfig.SaslSsl> saslSsl;

  private EmbeddedKafka(
      KafkaRaftServer server,
      int port,
      Path logDir,
      boolean temporary,
      Optional<EmbeddedKafkaConfig.SaslSsl> saslSsl) {
    this.saslSsl = saslSsl;
    this.server = server;
    this.port = port;
    this.logDir = logDir;
    this.temporary = temporary;
  }

  /**
   * Formats the log directory if it is new, starts the broker and returns once it accepts metadata
   * requests.
   *
   * @throws EmbeddedKafkaException if the port is taken, the directory is unusable or the broker
   *     does not come up within the configured timeout; nothing is left running
   */
  public static EmbeddedKafka start(EmbeddedKafkaConfig config) {
    Instant began = Instant.now();
    boolean temporary = config.logDir().isEmpty();
    Path dir;
    try {
      dir =
          temporary
              ? Files.createTempDirectory("streamscore-kafka-")
              : Files.createDirectories(config.logDir().get());
    } catch (IOException e) {
      throw new EmbeddedKafkaException(
          "cannot create the Kafka log directory " + config.logDir().orElse(null), e);
    }
    try {
      if (config.port() != 0 && !isFree(config.port())) {
        throw new EmbeddedKafkaException(
            "port " + config.port() + " on " + HOST + " is in use; choose another port or 0");
      }
      for (int attempt = 1; ; attempt++) {
        int port = config.port() == 0 ? freePort() : config.port();
        int controllerPort = freePortOtherThan(port);
        int internalPort = freePortOtherThan(port, controllerPort);
        try {
          EmbeddedKafka kafka =
              startOnce(config, dir, temporary, port, controllerPort, internalPort);
          LOG.info(
              "Kafka broker started on {} in {} ms (log dir {})",
              kafka.bootstrapServers(),
              Duration.between(began, Instant.now()).toMillis(),
              dir);
          return kafka;
        } catch (EmbeddedKafkaException e) {
          boolean bindFailure = hasCause(e, BindException.class);
          if (!bindFailure) {
            throw e;
          }
          // A fixed client port that is taken will stay taken: say so. A free port picked by us
          // may have been grabbed by someone else in between; pick again.
          if (config.port() != 0 && !isFree(config.port())) {
            throw new EmbeddedKafkaException(
                "port " + config.port() + " on " + HOST + " is in use; choose another port or 0",
                e);
          }
          if (attempt >= MAX_BIND_ATTEMPTS) {
            throw e;
          }
        }
      }
    } catch (RuntimeException e) {
      if (temporary) {
        deleteRecursively(dir);
      }
      throw e;
    }
  }

  private static EmbeddedKafka startOnce(
      EmbeddedKafkaConfig config,
      Path dir,
      boolean temporary,
      int port,
      int controllerPort,
      int internalPort) {
    config.saslSsl().ifPresent(sasl -> writeKeyStore(sasl, dir));
    Map<String, String> props = brokerProperties(config, dir, port, controllerPort, internalPort);
    KafkaConfig kafkaConfig;
    try {
      kafkaConfig = new KafkaConfig(props, false);
    } catch (RuntimeException e) {
      throw new EmbeddedKafkaException("invalid broker configuration: " + e.getMessage(), e);
    }
    format(kafkaConfig, dir, config.saslSsl());
    KafkaRaftServer server = new KafkaRaftServer(kafkaConfig, Time.SYSTEM);
    try {
      server.startup();
      EmbeddedKafka kafka = new EmbeddedKafka(server, port, dir, temporary, config.saslSsl());
      kafka.awaitMetadata(config.startTimeout());
      return kafka;
    } catch (RuntimeException e) {
      shutdownQuietly(server);
      if (e instanceof EmbeddedKafkaException) {
        throw e;
      }
      throw new EmbeddedKafkaException(
          "Kafka broker failed to start on " + HOST + ":" + port + ": " + e.getMessage(), e);
    }
  }

  static Map<String, String> brokerProperties(
      EmbeddedKafkaConfig config, Path dir, int port, int controllerPort, int internalPort) {
    Map<String, String> p = new HashMap<>();
    p.put("process.roles", "broker,controller");
    p.put("node.id", Integer.toString(NODE_ID));
    p.put("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + controllerPort);
    p.put("controller.listener.names", "CONTROLLER");
    if (config.saslSsl().isEmpty()) {
      p.put(
          "listeners",
          "PLAINTEXT://" + HOST + ":" + port + ",CONTROLLER://" + HOST + ":" + controllerPort);
      p.put("advertised.listeners", "PLAINTEXT://" + HOST + ":" + port);
      p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
      p.put("inter.broker.listener.name", "PLAINTEXT");
    } else {
      EmbeddedKafkaConfig.SaslSsl sasl = config.saslSsl().get();
      p.put(
          "listeners",
          "SASL_SSL://"
              + HOST
              + ":"
              + port
              + ",INTERNAL://"
              + HOST
              + ":"
              + internalPort
              + ",CONTROLLER://"
              + HOST
              + ":"
              + controllerPort);
      p.put(
          "advertised.listeners",
          "SASL_SSL://" + HOST + ":" + port + ",INTERNAL://" + HOST + ":" + internalPort);
      p.put(
          "listener.security.protocol.map",
          "SASL_SSL:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT");
      p.put("inter.broker.listener.name", "INTERNAL");
      p.put("sasl.enabled.mechanisms", "SCRAM-SHA-256");
      p.put(
          "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config",
          "org.apache.kafka.common.security.scram.ScramLoginModule required;");
      p.put("ssl.keystore.type", "PEM");
      p.put("ssl.keystore.location", keyStore(dir).toString());
    }
    p.put("log.dirs", dir.toAbsolutePath().toString());

    // One node: every internal topic has one replica.
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "5");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("transaction.state.log.num.partitions", "5");
    p.put("share.coordinator.state.topic.replication.factor", "1");
    p.put("share.coordinator.state.topic.min.isr", "1");
    p.put("group.initial.rebalance.delay.ms", "0");
    p.put("num.partitions", Integer.toString(config.defaultPartitions()));
    // After a crash the controller waits out the dead incarnation's session before the restarted
    // broker is unfenced (9 s by default, most of a restart); broker and controller share this
    // process, so their heartbeats never cross a network.
    p.put("broker.session.timeout.ms", "3000");
    p.put("broker.heartbeat.interval.ms", "500");
    p.put("auto.create.topics.enable", "true");

    // Small footprint: the cleaner's dedupe buffer defaults to 128 MiB of heap.
    p.put("log.cleaner.dedupe.buffer.size", "2097152");
    p.put("log.cleaner.threads", "1");
    p.put("num.network.threads", "2");
    p.put("num.io.threads", "2");
    p.put("background.threads", "2");
    p.put("num.recovery.threads.per.data.dir", "1");
    p.put("num.replica.fetchers", "1");
    p.put("log.index.size.max.bytes", "1048576");
    p.putAll(config.overrides());
    return p;
  }

  /** Kafka's PEM key store is one file: the key, then the chain. */
  private static Path keyStore(Path dir) {
    return dir.toAbsolutePath().resolve("sasl-ssl-keystore.pem");
  }

  private static void writeKeyStore(EmbeddedKafkaConfig.SaslSsl sasl, Path dir) {
    try {
      Files.writeString(
          keyStore(dir),
          Files.readString(sasl.privateKey()) + "\n" + Files.readString(sasl.certificateChain()));
    } catch (IOException e) {
      throw new EmbeddedKafkaException(
          "cannot read the broker's key and certificates "
              + sasl.privateKey()
              + ", "
              + sasl.certificateChain(),
          e);
    }
  }

  private static void format(
      KafkaConfig kafkaConfig, Path dir, Optional<EmbeddedKafkaConfig.SaslSsl> saslSsl) {
    if (Files.exists(dir.resolve("meta.properties"))) {
      // Formatted by an earlier run: keep its cluster id, metadata and data.
      return;
    }
    Formatter formatter =
        new Formatter()
            .setClusterId(Uuid.randomUuid().toString())
            .setNodeId(NODE_ID)
            .setControllerListenerName("CONTROLLER")
            .setMetadataLogDirectory(kafkaConfig.metadataLogDir())
            .addDirectory(dir.toAbsolutePath().toString())
            .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
            .setScramArguments(
                saslSsl
                    .map(
                        s ->
                            List.of(
                                "SCRAM-SHA-256=[name="
                                    + s.username()
                                    + ",password="
                                    + s.password()
                                    + "]"))
                    .orElse(List.of()))
            .setPrintStream(
                new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8));
    try {
      formatter.run();
    } catch (Exception e) {
      throw new EmbeddedKafkaException(
          "cannot format Kafka log directory " + dir + ": " + e.getMessage(), e);
    }
  }

  private void awaitMetadata(Duration timeout) {
    Instant deadline = Instant.now().plus(timeout);
    Map<String, Object> props = new HashMap<>(clientProperties());
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000);
    try (Admin admin = Admin.create(props)) {
      String lastProblem = "no answer";
      while (Instant.now().isBefore(deadline)) {
        try {
          var nodes = admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
          if (!nodes.isEmpty()) {
            return;
          }
          lastProblem = "no broker registered";
        } catch (Exception e) {
          if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
            throw new EmbeddedKafkaException("interrupted while waiting for the broker", e);
          }
          lastProblem = String.valueOf(e.getMessage());
        }
        sleepBriefly();
      }
      throw new EmbeddedKafkaException(
          "Kafka broker on "
              + bootstrapServers()
              + " did not answer within "
              + timeout
              + ": "
              + lastProblem);
    }
  }

  /** {@code 127.0.0.1:<port>}, for {@code bootstrap.servers}. */
  public String bootstrapServers() {
    return HOST + ":" + port;
  }

  /** The client listener's port. */
  public int port() {
    return port;
  }

  /** Where the broker keeps its data. */
  public Path logDir() {
    return logDir;
  }

  /** True when the log directory is deleted on close. */
  public boolean isTemporary() {
    return temporary;
  }

  /**
   * The properties a client needs: {@code bootstrap.servers}, and with SASL_SSL the user's
   * credentials and the trust store.
   */
  public Map<String, Object> clientProperties() {
    Map<String, Object> p = new HashMap<>(clientSettings());
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    return Map.copyOf(p);
  }

  /** The connection settings besides {@code bootstrap.servers}: empty for plaintext. */
  public Map<String, String> clientSettings() {
    return saslSsl.map(EmbeddedKafkaConfig.SaslSsl::clientSettings).orElse(Map.of());
  }

  /**
   * A consumer in group {@code groupId} that reads committed records only, from the earliest offset
   * where the group has none: what a downstream reader of our topics sees. Owned by the caller.
   */
  public KafkaConsumer<String, byte[]> committedConsumer(String groupId) {
    Map<String, Object> p = new HashMap<>(clientProperties());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    return new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
  }

  /** Shuts the broker down, waits for it, and deletes a temporary log directory. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    Instant began = Instant.now();
    shutdownQuietly(server);
    if (temporary) {
      deleteRecursively(logDir);
    }
    LOG.info(
        "Kafka broker on {} stopped in {} ms",
        bootstrapServers(),
        Duration.between(began, Instant.now()).toMillis());
  }

  private static void shutdownQuietly(KafkaRaftServer server) {
    try {
      server.shutdown();
      server.awaitShutdown();
    } catch (RuntimeException e) {
      LOG.warn("Kafka broker shutdown failed: {}", e.toString());
    }
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find a free port on " + HOST, e);
    }
  }

  /**
   * A free port that is not {@code taken}: the broker's port is free again until the broker binds
   * it, so the system can hand it out a second time, and Kafka refuses two listeners on one port.
   */
  private static int freePortOtherThan(int... taken) {
    for (int i = 0; i < 100; i++) {
      int port = freePort();
      if (java.util.Arrays.stream(taken).noneMatch(t -> t == port)) {
        return port;
      }
    }
    throw new EmbeddedKafkaException(
        "no free port on " + HOST + " other than " + java.util.Arrays.toString(taken));
  }

  private static boolean isFree(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new java.net.InetSocketAddress(InetAddress.getByName(HOST), port), 1);
      return socket.isBound();
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
    }
    return false;
  }

  private static void sleepBriefly() {
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KafkaOperationException("wait for broker", e);
    }
  }

  static void deleteRecursively(Path dir) {
    try {
      Utils.delete(dir.toFile());
    } catch (IOException e) {
      LOG.warn("could not delete temporary Kafka directory {}: {}", dir, e.toString());
    }
  }
}
