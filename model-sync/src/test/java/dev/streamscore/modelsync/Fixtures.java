package dev.streamscore.modelsync;

import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelVersionSpec;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.concurrent.TimeUnit;

/** Specs and channels shared by the registry and agent tests. */
final class Fixtures {
  private Fixtures() {}

  /** {@code width} stored inputs from the shipped payments view {@code user_txn}, one output. */
  static ModelVersionSpec spec(String name, int width, int outputs) {
    String[] features = {
      "txn_count_10m",
      "txn_count_1h",
      "amount_sum_1h",
      "amount_mean_1h",
      "amount_max_10m",
      "merchants_1h"
    };
    ModelVersionSpec.Builder spec =
        ModelVersionSpec.newBuilder().setName(name).setFormat(ModelFormat.MODEL_FORMAT_ONNX);
    for (int i = 0; i < width; i++) {
      spec.addInputs(
          ModelInput.newBuilder()
              .setName(i < features.length ? "user_txn:" + features[i] : "request_" + i)
              .setView(i < features.length ? "user_txn" : ""));
    }
    for (int i = 0; i < outputs; i++) {
      spec.addOutputs(ModelOutput.newBuilder().setName("out" + i));
    }
    return spec.build();
  }

  /**
   * A registry on gRPC's in-process transport (every call through the real gRPC stack, no socket)
   * with a channel and a client to it.
   */
  record Registry(RegistryServer server, ManagedChannel channel, RegistryClient client)
      implements AutoCloseable {
    static Registry start(java.nio.file.Path dir, java.util.Optional<String> token, String user) {
      String name = InProcessServerBuilder.generateName();
      RegistryServer server =
          RegistryServer.start(
              ServerTransport.of(InProcessServerBuilder.forName(name), name),
              dir,
              token,
              java.time.Clock.systemUTC());
      ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
      return new Registry(server, channel, new RegistryClient(channel, token, user));
    }

    @Override
    public void close() {
      try {
        Fixtures.close(channel);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        server.close();
      }
    }
  }

  static ManagedChannel channel(String address) {
    return NettyChannelBuilder.forTarget(address).usePlaintext().build();
  }

  static void close(ManagedChannel channel) throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
