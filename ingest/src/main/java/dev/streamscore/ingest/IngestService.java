package dev.streamscore.ingest;

import dev.streamscore.proto.v1.IngestGrpc;
import dev.streamscore.proto.v1.PublishAck;
import dev.streamscore.proto.v1.PublishBatchRequest;
import dev.streamscore.proto.v1.PublishBatchResponse;
import dev.streamscore.proto.v1.PublishRequest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Arrays;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** The {@code Ingest} gRPC service: streams and batches in, through {@link GatewayPublisher}. */
final class IngestService extends IngestGrpc.IngestImplBase {
  private final IngestGatewayConfig config;
  private final GatewayPublisher publisher;
  private final Executor executor;
  private final GatewayStats stats;
  private final AtomicInteger activeCalls = new AtomicInteger();
  private final AtomicLong batchBytes = new AtomicLong();

  IngestService(
      IngestGatewayConfig config,
      GatewayPublisher publisher,
      Executor executor,
      GatewayStats stats) {
    this.config = config;
    this.publisher = publisher;
    this.executor = executor;
    this.stats = stats;
  }

  @Override
  public StreamObserver<PublishRequest> publish(StreamObserver<PublishAck> responses) {
    ServerCallStreamObserver<PublishAck> call = (ServerCallStreamObserver<PublishAck>) responses;
    if (!enterCall()) {
      call.onError(overloaded().asRuntimeException());
      return new Ignore<>();
    }
    return new PublishStream(
        call,
        publisher,
        executor,
        config.streamWindow(),
        config.streamWindowBytes(),
        stats,
        this::leaveCall);
  }

  @Override
  public void publishBatch(
      PublishBatchRequest request, StreamObserver<PublishBatchResponse> responses) {
    int n = request.getEventsCount();
    if (n > config.maxBatchEvents()) {
      responses.onError(
          Status.INVALID_ARGUMENT
              .withDescription(
                  "field 'events' holds "
                      + n
                      + " events; the limit is "
                      + config.maxBatchEvents()
                      + " per batch")
              .asRuntimeException());
      return;
    }
    if (n == 0) {
      responses.onNext(PublishBatchResponse.getDefaultInstance());
      responses.onCompleted();
      return;
    }
    long size = request.getSerializedSize();
    if (batchBytes.addAndGet(size) > config.batchBytesInFlight()) {
      batchBytes.addAndGet(-size);
      responses.onError(
          Status.RESOURCE_EXHAUSTED
              .withDescription(
                  "the gateway holds its limit of "
                      + (config.batchBytesInFlight() >> 20)
                      + " MiB of batches; retry with backoff")
              .asRuntimeException());
      return;
    }
    if (!enterCall()) {
      batchBytes.addAndGet(-size);
      responses.onError(overloaded().asRuntimeException());
      return;
    }
    stats.inFlight.add(n);
    new Batch(n, size, responses).publish(request);
  }

  private boolean enterCall() {
    if (activeCalls.incrementAndGet() > config.maxCalls()) {
      activeCalls.decrementAndGet();
      return false;
    }
    stats.activeCalls.increment();
    return true;
  }

  private void leaveCall() {
    activeCalls.decrementAndGet();
    stats.activeCalls.decrement();
  }

  private Status overloaded() {
    return Status.RESOURCE_EXHAUSTED.withDescription(
        "the gateway is serving its limit of "
            + config.maxCalls()
            + " streams and batches; retry with backoff");
  }

  /** One batch's outcomes, answered when the last one arrives. */
  private final class Batch {
    private final PublishAck[] acks;
    private final StreamObserver<PublishBatchResponse> responses;
    private final AtomicInteger left;
    private final AtomicBoolean answered = new AtomicBoolean();
    private final long bytes;
    private volatile Status failure;

    Batch(int n, long bytes, StreamObserver<PublishBatchResponse> responses) {
      this.bytes = bytes;
      this.acks = new PublishAck[n];
      this.left = new AtomicInteger(n);
      this.responses = responses;
    }

    void publish(PublishBatchRequest request) {
      for (int i = 0; i < acks.length; i++) {
        int index = i;
        publisher.publish(
            request.getEvents(i),
            new GatewayPublisher.Outcome() {
              @Override
              public void acked(PublishAck ack, int payloadBytes) {
                acks[index] = ack;
                arrived();
              }

              @Override
              public void failed(Status status, int payloadBytes) {
                failure = status;
                arrived();
              }
            });
      }
    }

    private void arrived() {
      if (left.decrementAndGet() == 0) {
        // Answer off the Kafka producer thread: building a large response is real work.
        executor.execute(this::answer);
      }
    }

    private void answer() {
      if (!answered.compareAndSet(false, true)) {
        return;
      }
      stats.inFlight.add(-acks.length);
      batchBytes.addAndGet(-bytes);
      leaveCall();
      if (failure != null) {
        responses.onError(failure.asRuntimeException());
        return;
      }
      int accepted = 0;
      for (PublishAck ack : acks) {
        if (ack.hasAccepted()) {
          accepted++;
        }
      }
      responses.onNext(
          PublishBatchResponse.newBuilder()
              .addAllAcks(Arrays.asList(acks))
              .setAcceptedCount(accepted)
              .setRejectedCount(acks.length - accepted)
              .build());
      responses.onCompleted();
    }
  }

  /** The observer of a call refused at its start: its events are not read. */
  private static final class Ignore<T> implements StreamObserver<T> {
    @Override
    public void onNext(T value) {}

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }
}
