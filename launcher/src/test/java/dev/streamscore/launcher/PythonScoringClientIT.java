package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.Replay;
import dev.streamscore.modelsync.OnnxModel;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.PythonTools;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Python client (Debian's python3-grpcio, stubs generated from {@code proto/}) asks a running
 * {@code streamscore up} for predictions, and gets exactly what the model computes offline on the
 * same vector; through the README's failover channel with a second address that is down, it gets
 * every answer.
 */
class PythonScoringClientIT {
  private static final Path PROTO_DIR =
      Path.of(System.getProperty("streamscore.proto.dir", "../proto/src/main/proto"))
          .toAbsolutePath()
          .normalize();
  private final Launcher launcher = new Launcher();

  @AfterEach
  void killLeftovers() {
    launcher.killAll();
  }

  @Test
  void aPythonClientGetsTheScoresTheModelComputesOffline(@TempDir Path dir) throws Exception {
    PythonTools.requireGrpcTools();
    Path stubs = Files.createDirectories(dir.resolve("stubs"));
    PythonTools.generateStubs(PROTO_DIR, stubs);
    Launcher.Running up = launcher.up(Launcher.freePort(), dir.resolve("data"), "--engine", "none");
    up.awaitLine("ready", Duration.ofSeconds(90));

    Path model = TestModels.logisticRegression(dir.resolve("m.onnx"), 3, 7);
    ManagedChannel channel =
        NettyChannelBuilder.forTarget(up.endpoint("registry").orElseThrow()).usePlaintext().build();
    try {
      RegistryClient client = new RegistryClient(channel, Optional.empty(), "ci");
      client.register(
          model,
          ModelVersionSpec.newBuilder()
              .setName("fraud")
              .setFormat(ModelFormat.MODEL_FORMAT_ONNX)
              .addInputs(
                  ModelInput.newBuilder().setName("user_txn:txn_count_1h").setView("user_txn"))
              .addInputs(
                  ModelInput.newBuilder().setName("user_txn:amount_max_10m").setView("user_txn"))
              .addInputs(ModelInput.newBuilder().setName("amount"))
              .addOutputs(ModelOutput.newBuilder().setName("p_legit"))
              .addOutputs(ModelOutput.newBuilder().setName("p_fraud"))
              .build());
      client.promote("fraud", "prod", 1);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    // Features for u1: 6 payments in the last minute, amounts 10..15.
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            Map.of("bootstrap.servers", up.endpoint("kafka").orElseThrow()),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      FeatureRows.send(
          producer,
          FeatureRows.payments(
              new Replay(FeatureSpec.shippedPayments(), "payments"),
              6,
              System.currentTimeMillis() - 30_000,
              i -> "u1"));
    }

    String script =
        String.join(
            "\n",
            "import sys, grpc",
            "from streamscore.v1 import scoring_pb2, scoring_pb2_grpc",
            "stub = scoring_pb2_grpc.ScoringStub(grpc.insecure_channel(sys.argv[1]))",
            "r = scoring_pb2.PredictRequest(request_id='py-1', include_features=True)",
            "r.model.name = 'fraud'",
            "r.entity_ids['user_id'] = 'u1'",
            "r.request_features['amount'].double_value = 123.5",
            "resp = stub.Predict(r, timeout=10)",
            "print(resp.request_id, resp.model_version)",
            "print(' '.join(repr(f) for f in resp.features))",
            "print(' '.join(s.name + '=' + repr(s.value) for s in resp.scores))");
    // Beside the stubs: Python puts the script's directory on its path.
    Path file = Files.writeString(stubs.resolve("client.py"), script);
    String scoring = up.endpoint("scoring").orElseThrow();
    List<String> out =
        await()
            .atMost(Duration.ofSeconds(60))
            .ignoreExceptions()
            .until(
                () ->
                    PythonTools.run(
                        List.of(PythonTools.PYTHON.toString(), file.toString(), scoring), stubs),
                lines -> lines.size() == 3 && lines.get(1).startsWith("6.0 "));

    assertThat(out.get(0)).isEqualTo("py-1 1");

    // The README's failover channel: two addresses, one with no node behind it. Round robin
    // passes over the one that is down, and every call is answered.
    String failover =
        String.join(
            "\n",
            "import json, sys, grpc",
            "from streamscore.v1 import scoring_pb2, scoring_pb2_grpc",
            "config = {'loadBalancingConfig': [{'round_robin': {}}],",
            "          'healthCheckConfig': {'serviceName': 'streamscore.v1.Scoring'},",
            "          'methodConfig': [{'name': [{'service': 'streamscore.v1.Scoring'}],",
            "                            'retryPolicy': {'maxAttempts': 5, 'initialBackoff': '0.1s',",
            "                                            'maxBackoff': '2s', 'backoffMultiplier': 2,",
            "                                            'retryableStatusCodes': ['UNAVAILABLE']}}]}",
            "channel = grpc.insecure_channel('ipv4:' + sys.argv[1],",
            "    options=[('grpc.service_config', json.dumps(config)), ('grpc.enable_retries', 1)])",
            "stub = scoring_pb2_grpc.ScoringStub(channel)",
            "answered = failed = 0",
            "for i in range(50):",
            "    r = scoring_pb2.PredictRequest(request_id='py-f%d' % i)",
            "    r.model.name = 'fraud'",
            "    r.entity_ids['user_id'] = 'u1'",
            "    r.request_features['amount'].double_value = 10.0 + i",
            "    try:",
            "        stub.Predict(r, timeout=10, wait_for_ready=True)",
            "        answered += 1",
            "    except grpc.RpcError as e:",
            "        failed += 1",
            "        print(e.code(), e.details())",
            "print('answered', answered, 'failed', failed)");
    Path failoverFile = Files.writeString(stubs.resolve("failover.py"), failover);
    String targets = scoring + ",127.0.0.1:" + Launcher.freePort();
    List<String> failedOver =
        PythonTools.run(
            List.of(PythonTools.PYTHON.toString(), failoverFile.toString(), targets), stubs);
    assertThat(failedOver).contains("answered 50 failed 0");
    String[] features = out.get(1).split(" ");
    assertThat(features).containsExactly("6.0", "15.0", "123.5");
    float[] vector = {6f, 15f, 123.5f};
    try (OnnxModel offline = OnnxModel.load(model)) {
      float[] expected = offline.predict(vector);
      assertThat(out.get(2))
          .isEqualTo("p_legit=" + pyRepr(expected[0]) + " p_fraud=" + pyRepr(expected[1]));
    }
  }

  /** How Python prints a double that came from this float: the shortest repr of the double. */
  private static String pyRepr(float f) {
    String s = Double.toString(f);
    return s.contains("E") ? s.replace("E", "e") : s;
  }
}
