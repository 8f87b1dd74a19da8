package dev.streamscore.scoring.monitor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.modelsync.RegistryServer;
import dev.streamscore.proto.ServerTransport;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RegistryVersionsTest {
  @TempDir Path dir;

  @Test
  void aRegistryThatDoesNotAnswerIsUnavailableNotAnUnknownVersion() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // nothing listens there once closed
    }
    ManagedChannel channel =
        NettyChannelBuilder.forTarget("127.0.0.1:" + port).usePlaintext().build();
    try {
      RegistryVersions versions =
          new RegistryVersions(
              new RegistryClient(channel, Optional.empty(), "ci"), Clock.systemUTC());
      assertThatThrownBy(() -> versions.spec("fraud", 1))
          .isInstanceOf(Versions.Unavailable.class)
          .hasMessageContaining(
              "cannot read fraud's versions from the registry: Status{code=UNAVAILABLE");
      // Asked again before the retry: still unavailable, not quietly empty.
      assertThatThrownBy(() -> versions.spec("fraud", 1)).isInstanceOf(Versions.Unavailable.class);
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void aModelTheRegistryDoesNotKnowIsEmpty() {
    try (RegistryServer registry =
        RegistryServer.start(
            ServerTransport.loopback(0),
            dir.resolve("registry"),
            Optional.empty(),
            Clock.systemUTC())) {
      ManagedChannel channel =
          NettyChannelBuilder.forTarget(registry.address()).usePlaintext().build();
      try {
        RegistryVersions versions =
            new RegistryVersions(
                new RegistryClient(channel, Optional.empty(), "ci"), Clock.systemUTC());
        assertThat(versions.spec("nope", 1)).isEmpty();
        assertThat(versions.spec("nope", 1)).isEmpty();
      } finally {
        channel.shutdownNow();
      }
    }
  }
}
