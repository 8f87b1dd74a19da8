package dev.streamscore.ingest;

import com.google.protobuf.ByteString;
import dev.streamscore.proto.v1.IngestGrpc;
import dev.streamscore.proto.v1.PublishAck;
import dev.streamscore.proto.v1.PublishBatchRequest;
import dev.streamscore.proto.v1.PublishBatchResponse;
import dev.streamscore.proto.v1.PublishRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * A client of the ingest gateway: publishes events on a stream with a bounded number awaiting their
 * ack, or in batches. Thread-safe; one instance per gateway address.
 */
public final class IngestPublisher implements AutoCloseable {
  private final ManagedChannel channel;
  private final boolean ownsChannel;

  private IngestPublisher(ManagedChannel channel, boolean ownsChannel) {
    this.channel = channel;
    this.ownsChannel = ownsChannel;
  }

  /** Connects (plaintext) to a gateway at {@code host:port}. */
  public static IngestPublisher connect(String target) {
    return new IngestPublisher(
        NettyChannelBuilder.forTarget(target)
            .usePlaintext()
            .maxInboundMessageSize(64 << 20)
            .build(),
        true);
  }

  /** Uses a channel the caller owns and closes. */
  public static IngestPublisher using(ManagedChannel channel) {
    return new IngestPublisher(channel, false);
  }

  /** Receives each ack of a stream, on a gRPC thread; must not block. */
  @FunctionalInterface
  public interface AckListener {
    void onAck(PublishAck ack);
  }

  /**
   * Opens a {@code Publish} stream.
   *
   * @param maxInFlight events sent and not yet acknowledged before {@link Stream#send} blocks
   */
  public Stream openStream(int maxInFlight, AckListener listener) {
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("maxInFlight must be at least 1, got " + maxInFlight);
    }
    return new Stream(maxInFlight, listener);
  }

  /**
   * Publishes a batch and waits for every outcome.
   *
   * @throws StatusRuntimeException INVALID_ARGUMENT for an oversized batch, RESOURCE_EXHAUSTED on
   *     overload, UNAVAILABLE when Kafka failed (resend the batch)
   */
  public PublishBatchResponse publishBatch(PublishBatchRequest batch, Duration deadline) {
    return IngestGrpc.newBlockingStub(channel)
        .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
        .publishBatch(batch);
  }

  @Override
  public void close() {
    if (ownsChannel) {
      channel.shutdown();
      try {
        if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
          channel.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        channel.shutdownNow();
      }
    }
  }

  /**
   * One open stream. {@link #send} may be called from one thread at a time; acks arrive on gRPC
   * threads.
   */
  public final class Stream implements AutoCloseable {
    private final Semaphore permits;
    private final int maxInFlight;
    private final AckListener listener;
    private final AtomicReference<Status> failure = new AtomicReference<>();
    private final CountDownLatch done = new CountDownLatch(1);
    private final LongAdder accepted = new LongAdder();
    private final LongAdder rejected = new LongAdder();
    private final ClientCallStreamObserver<PublishRequest> requests;
    private long sequence;
    private boolean finished;

    private Stream(int maxInFlight, AckListener listener) {
      this.maxInFlight = maxInFlight;
      this.permits = new Semaphore(maxInFlight);
      this.listener = listener;
      AtomicReference<ClientCallStreamObserver<PublishRequest>> call = new AtomicReference<>();
      IngestGrpc.newStub(channel)
          .publish(
              new ClientResponseObserver<PublishRequest, PublishAck>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<PublishRequest> stream) {
                  call.set(stream);
                }

                @Override
                public void onNext(PublishAck ack) {
                  (ack.hasAccepted() ? accepted : rejected).increment();
                  permits.release();
                  listener.onAck(ack);
                }

                @Override
                public void onError(Throwable t) {
                  failure.compareAndSet(null, Status.fromThrowable(t));
                  permits.release(maxInFlight);
                  done.countDown();
                }

                @Override
                public void onCompleted() {
                  done.countDown();
                }
              });
      this.requests = call.get();
    }

    /**
     * Sends one event, blocking while {@code maxInFlight} events await their ack.
     *
     * @return the event's sequence number on this stream (0, 1, 2, …)
     * @throws StatusRuntimeException if the stream has failed
     */
    public long send(String source, byte[] payload) throws InterruptedException {
      permits.acquire();
      throwIfFailed();
      long seq = sequence++;
      requests.onNext(
          PublishRequest.newBuilder()
              .setSequence(seq)
              .setSource(source)
              .setPayload(ByteString.copyFrom(payload))
              .build());
      return seq;
    }

    /**
     * Half-closes the stream and waits until every sent event has its ack.
     *
     * @throws StatusRuntimeException if the stream failed
     * @throws java.util.concurrent.TimeoutException if acks are still missing after {@code timeout}
     */
    public void finish(Duration timeout)
        throws InterruptedException, java.util.concurrent.TimeoutException {
      if (!finished) {
        finished = true;
        requests.onCompleted();
      }
      if (!done.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new java.util.concurrent.TimeoutException(
            (sequence - accepted.sum() - rejected.sum())
                + " events still await their ack after "
                + timeout);
      }
      throwIfFailed();
    }

    private void throwIfFailed() {
      Status status = failure.get();
      if (status != null) {
        throw status.asRuntimeException();
      }
    }

    /** Events sent so far. */
    public long sent() {
      return sequence;
    }

    /** Acks that say the event is in Kafka. */
    public long accepted() {
      return accepted.sum();
    }

    /** Acks that say the event was rejected (and is in the dead-letter topic). */
    public long rejected() {
      return rejected.sum();
    }

    /** Cancels the stream if it is not finished; events without an ack may or may not be in. */
    @Override
    public void close() {
      if (done.getCount() > 0) {
        requests.cancel("closed by the client", null);
      }
    }
  }
}
