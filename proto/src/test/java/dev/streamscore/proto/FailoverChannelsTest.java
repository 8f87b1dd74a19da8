package dev.streamscore.proto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class FailoverChannelsTest {
  /**
   * The service the channel's health check asks about; the Health service itself carries the calls.
   */
  private static final String ECHO = "grpc.health.v1.Health";

  private static final List<String> HEALTH = List.of(ECHO);

  @Test
  void balancesOverEveryServerAndLosesNoCallWhenOneDies() throws Exception {
    AtomicInteger firstCalls = new AtomicInteger();
    AtomicInteger secondCalls = new AtomicInteger();
    Server first = server(firstCalls);
    Server second = server(secondCalls);
    ManagedChannel channel =
        FailoverChannels.forTargets(
            "127.0.0.1:" + first.getPort() + ",127.0.0.1:" + second.getPort(), HEALTH);
    try {
      HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel);
      List<String> failed = new java.util.ArrayList<>();
      for (int i = 0; i < 400; i++) {
        if (i == 200) {
          // Abrupt: connections reset, as when the process is SIGKILLed.
          first.shutdownNow();
        }
        try {
          health
              .withDeadlineAfter(10, TimeUnit.SECONDS)
              .check(HealthCheckRequest.getDefaultInstance());
        } catch (io.grpc.StatusRuntimeException e) {
          failed.add("call " + i + ": " + e.getStatus());
        }
      }
      assertThat(failed).isEmpty();
      assertThat(firstCalls.get()).isBetween(50, 200);
      assertThat(secondCalls.get()).isGreaterThanOrEqualTo(200);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      first.shutdownNow();
      second.shutdownNow();
    }
  }

  @Test
  void sendsNoCallToAServerThatSaysItIsNotServing() throws Exception {
    AtomicInteger readyCalls = new AtomicInteger();
    AtomicInteger notReadyCalls = new AtomicInteger();
    HealthStatusManager notReadyHealth = new HealthStatusManager();
    notReadyHealth.setStatus(ECHO, io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING);
    Server ready = server(readyCalls);
    Server notReady = server(notReadyCalls, notReadyHealth);
    ManagedChannel channel =
        FailoverChannels.forTargets(
            "127.0.0.1:" + notReady.getPort() + ",127.0.0.1:" + ready.getPort(), List.of(ECHO));
    try {
      HealthGrpc.HealthBlockingStub stub = HealthGrpc.newBlockingStub(channel);
      for (int i = 0; i < 50; i++) {
        stub.withDeadlineAfter(5, TimeUnit.SECONDS)
            .check(HealthCheckRequest.newBuilder().setService("").build());
      }
      // Only the client's own health watch reaches the server that is not ready.
      assertThat(notReadyCalls.get()).isLessThanOrEqualTo(1);
      assertThat(readyCalls.get()).isGreaterThanOrEqualTo(50);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      ready.shutdownNow();
      notReady.shutdownNow();
    }
  }

  @Test
  void aUnaryCallTheServerCancelsIsSentOnceMoreAndOneItsCallerCancelsIsNot() throws Exception {
    AtomicInteger checks = new AtomicInteger();
    java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
    HealthStatusManager health = new HealthStatusManager();
    health.setStatus(ECHO, io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
    ServerInterceptor firstCancelledThirdHeld =
        new ServerInterceptor() {
          @Override
          public <Q, A> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
            if (!call.getMethodDescriptor().getBareMethodName().equals("Check")) {
              return next.startCall(call, headers);
            }
            int n = checks.incrementAndGet();
            if (n == 1) {
              call.close(io.grpc.Status.CANCELLED.withDescription("shutting down"), new Metadata());
              return new ServerCall.Listener<>() {};
            }
            if (n == 3) {
              held.countDown();
              return new ServerCall.Listener<>() {}; // never answered
            }
            return next.startCall(call, headers);
          }
        };
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                ServerInterceptors.intercept(health.getHealthService(), firstCancelledThirdHeld))
            .build()
            .start();
    ManagedChannel channel = FailoverChannels.forTargets("127.0.0.1:" + server.getPort(), HEALTH);
    try {
      HealthGrpc.HealthBlockingStub stub = HealthGrpc.newBlockingStub(channel);

      stub.withDeadlineAfter(10, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance());
      assertThat(checks.get()).as("cancelled by the server, then sent again").isEqualTo(2);

      io.grpc.Context.CancellableContext context = io.grpc.Context.current().withCancellation();
      java.util.concurrent.CompletableFuture<io.grpc.Status> outcome =
          java.util.concurrent.CompletableFuture.supplyAsync(
              () -> {
                io.grpc.Context previous = context.attach();
                try {
                  stub.withDeadlineAfter(10, TimeUnit.SECONDS)
                      .check(HealthCheckRequest.getDefaultInstance());
                  return io.grpc.Status.OK;
                } catch (io.grpc.StatusRuntimeException e) {
                  return e.getStatus();
                } finally {
                  context.detach(previous);
                }
              });
      assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();
      context.cancel(null);

      // Sent again, it would not come back CANCELLED: the held server never answers it.
      assertThat(outcome.get(10, TimeUnit.SECONDS).getCode())
          .isEqualTo(io.grpc.Status.Code.CANCELLED);
      assertThat(checks.get()).isEqualTo(3);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      server.shutdownNow();
    }
  }

  @Test
  void refusesATargetThatIsNotHostAndPort() {
    for (String bad :
        List.of("", "127.0.0.1", "127.0.0.1:", ":80", "h:port", "h:0", "h:70000", "a:1,,b:2")) {
      assertThatThrownBy(() -> FailoverChannels.parse(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'");
    }
    assertThat(FailoverChannels.parse("a:1, b:2")).hasSize(2);
  }

  private static Server server(AtomicInteger calls) throws Exception {
    HealthStatusManager health = new HealthStatusManager();
    health.setStatus(ECHO, io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
    return server(calls, health);
  }

  private static Server server(AtomicInteger calls, HealthStatusManager health) throws Exception {
    ServerInterceptor counting =
        new ServerInterceptor() {
          @Override
          public <Q, A> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
            calls.incrementAndGet();
            return next.startCall(call, headers);
          }
        };
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(ServerInterceptors.intercept(health.getHealthService(), counting))
        .build()
        .start();
  }
}
