package dev.streamscore.launcher.cluster;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Where every process of the local cluster listens and keeps its state: one directory and a block
 * of 80 ports from {@code basePort}, all on 127.0.0.1. The same arithmetic answers {@code up},
 * {@code status} and {@code down}, so nothing but the directory and the base port is remembered.
 *
 * @param dir holds each process's data directory, its log ({@code logs/}) and its pid ({@code
 *     run/})
 * @param basePort the first of the 80 ports the cluster uses
 */
public record Layout(Path dir, int basePort) {
  /** Kafka brokers, validators and scoring nodes; each is its own process. */
  public static final int BROKERS = 3;

  public static final int VALIDATORS = 2;
  public static final int SCORING_NODES = 2;
  public static final int GATEWAYS = 2;

  public Layout {
    dir = dir.toAbsolutePath().normalize();
    if (basePort < 1024 || basePort > 65_535 - 80) {
      throw new IllegalArgumentException(
          "the base port must be between 1024 and " + (65_535 - 80) + ", not " + basePort);
    }
  }

  /** The client listener of broker {@code i} (1-based). */
  public int kafkaPort(int i) {
    return basePort + i;
  }

  int controllerPort(int i) {
    return basePort + 10 + i;
  }

  /** Every broker's client listener, comma-separated: what every client is given. */
  public String bootstrap() {
    return IntStream.rangeClosed(1, BROKERS)
        .mapToObj(i -> "127.0.0.1:" + kafkaPort(i))
        .collect(Collectors.joining(","));
  }

  int flinkRpcPort() {
    return basePort + 20;
  }

  /** Flink's REST API: job status, {@code flink run}, savepoints. */
  public int flinkRestPort() {
    return basePort + 21;
  }

  int flinkBlobPort() {
    return basePort + 22;
  }

  int taskManagerRpcPort() {
    return basePort + 23;
  }

  int taskManagerDataPort() {
    return basePort + 24;
  }

  public int sparkMasterPort() {
    return basePort + 30;
  }

  /** The Spark master's web UI and its JSON ({@code /json/}). */
  public int sparkMasterUiPort() {
    return basePort + 31;
  }

  int sparkWorkerPort() {
    return basePort + 32;
  }

  int sparkWorkerUiPort() {
    return basePort + 33;
  }

  public int registryPort() {
    return basePort + 40;
  }

  /** Gateway {@code i} (1-based). */
  public int gatewayPort(int i) {
    return basePort + 50 + i;
  }

  /** Scoring node {@code i} (1-based): Predict and PredictStream. */
  public int scoringPort(int i) {
    return basePort + 60 + i;
  }

  /** Scoring node {@code i}'s Prometheus endpoint. */
  public int scoringMetricsPort(int i) {
    return basePort + 70 + i;
  }

  /** Every scoring node's address, comma-separated: what a failover client is given. */
  public String scoringTargets() {
    return IntStream.rangeClosed(1, SCORING_NODES)
        .mapToObj(i -> "127.0.0.1:" + scoringPort(i))
        .collect(Collectors.joining(","));
  }

  /** Every gateway's address. */
  public List<String> gateways() {
    return IntStream.rangeClosed(1, GATEWAYS).mapToObj(i -> "127.0.0.1:" + gatewayPort(i)).toList();
  }

  Path data(String member) {
    return dir.resolve("data").resolve(member);
  }

  Path log(String member) {
    return dir.resolve("logs").resolve(member + ".log");
  }

  Path pidFile(String member) {
    return dir.resolve("run").resolve(member + ".pid");
  }

  Path conf() {
    return dir.resolve("conf");
  }
}
