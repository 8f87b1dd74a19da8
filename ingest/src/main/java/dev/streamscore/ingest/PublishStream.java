package dev.streamscore.ingest;

import dev.streamscore.proto.v1.PublishAck;
import dev.streamscore.proto.v1.PublishRequest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One {@code Publish} stream, with flow control in both directions.
 *
 * <p>Inbound, automatic flow control is off: the gateway asks gRPC for one more event only after it
 * has handed an ack to the transport while the client was reading ({@link
 * ServerCallStreamObserver#isReady()}), and only while the stream's un-acked payload bytes are
 * under the window. So at most {@code streamWindow} events (and about {@code streamWindowBytes}
 * bytes) of a stream are in the gateway at any moment, and a client that stops reading its acks
 * stops being read; gRPC's own HTTP/2 window then stops the client's writes.
 *
 * <p>A stream that fails (a sequence that does not increase, Kafka refusing an event) reads no
 * further event, delivers the ack of every event already handed to Kafka, and only then ends with
 * the error: so the acks the client got are exactly the events written.
 *
 * <p>Threads: gRPC delivers events serially; Kafka completes them on its producer thread, which
 * only enqueues the ack. Acks are written by a drain loop that runs on the gateway's executor, one
 * run at a time per stream (the usual work-in-progress counter), because a {@link StreamObserver}
 * is not thread-safe.
 */
final class PublishStream implements StreamObserver<PublishRequest>, GatewayPublisher.Outcome {
  private final ServerCallStreamObserver<PublishAck> call;
  private final GatewayPublisher publisher;
  private final Executor executor;
  private final int windowBytes;
  private final Runnable onDone;
  private final GatewayStats stats;

  private final Queue<PublishAck> acks = new ConcurrentLinkedQueue<>();
  private final AtomicInteger drainRequests = new AtomicInteger();
  private final AtomicInteger outstanding = new AtomicInteger();
  private final AtomicLong outstandingBytes = new AtomicLong();
  private final AtomicReference<Status> failure = new AtomicReference<>();
  private long lastSequence = Long.MIN_VALUE;
  private volatile boolean halfClosed;
  private volatile boolean cancelled;
  // Touched only by the drain loop.
  private int creditsOwed;
  private boolean stalled;
  private boolean finished;

  PublishStream(
      ServerCallStreamObserver<PublishAck> call,
      GatewayPublisher publisher,
      Executor executor,
      int window,
      int windowBytes,
      GatewayStats stats,
      Runnable onDone) {
    this.call = call;
    this.publisher = publisher;
    this.executor = executor;
    this.windowBytes = windowBytes;
    this.stats = stats;
    this.onDone = onDone;
    call.disableAutoRequest();
    call.setOnReadyHandler(this::scheduleDrain);
    call.setOnCancelHandler(
        () -> {
          cancelled = true;
          scheduleDrain();
        });
    call.request(window);
  }

  @Override
  public void onNext(PublishRequest request) {
    if (failure.get() != null || cancelled) {
      return;
    }
    if (request.getSequence() <= lastSequence) {
      fail(
          Status.INVALID_ARGUMENT.withDescription(
              "field 'sequence' must increase along a stream: got "
                  + request.getSequence()
                  + " after "
                  + lastSequence));
      return;
    }
    lastSequence = request.getSequence();
    outstanding.incrementAndGet();
    outstandingBytes.addAndGet(request.getPayload().size());
    stats.inFlight.increment();
    publisher.publish(request, this);
  }

  @Override
  public void acked(PublishAck ack, int payloadBytes) {
    // The payload is in Kafka: only the small ack is still held.
    outstandingBytes.addAndGet(-payloadBytes);
    acks.add(ack);
    scheduleDrain();
  }

  @Override
  public void failed(Status status, int payloadBytes) {
    outstandingBytes.addAndGet(-payloadBytes);
    release(1);
    fail(status);
  }

  /** Events that leave the stream: acked to the client, discarded, or failed. */
  private void release(int events) {
    outstanding.addAndGet(-events);
    stats.inFlight.add(-events);
  }

  private void fail(Status status) {
    failure.compareAndSet(null, status);
    scheduleDrain();
  }

  @Override
  public void onError(Throwable t) {
    // The client cancelled or the connection broke; the call is over.
    cancelled = true;
    scheduleDrain();
  }

  @Override
  public void onCompleted() {
    halfClosed = true;
    scheduleDrain();
  }

  private void scheduleDrain() {
    if (drainRequests.getAndIncrement() == 0) {
      executor.execute(this::drainLoop);
    }
  }

  private void drainLoop() {
    int missed = 1;
    do {
      drain();
      missed = drainRequests.addAndGet(-missed);
    } while (missed != 0);
  }

  private void drain() {
    if (finished) {
      discardAcks();
      return;
    }
    if (cancelled) {
      finish(null);
      return;
    }
    Status failed = failure.get();
    int written = 0;
    PublishAck ack;
    while (call.isReady() && (ack = acks.poll()) != null) {
      call.onNext(ack);
      written++;
    }
    if (written > 0) {
      release(written);
      creditsOwed += written;
    }
    if (failed != null) {
      // The error ends the stream only once every event handed to Kafka before it has its ack:
      // an event the client got no ack for was not written, and resending it duplicates nothing.
      if (outstanding.get() == 0 && acks.isEmpty()) {
        finish(failed);
      }
      return;
    }
    boolean nowStalled = !acks.isEmpty();
    if (nowStalled != stalled) {
      stalled = nowStalled;
      stats.stalledStreams.add(nowStalled ? 1 : -1);
    }
    if (creditsOwed > 0 && outstandingBytes.get() < windowBytes) {
      call.request(creditsOwed);
      creditsOwed = 0;
    }
    if (halfClosed && outstanding.get() == 0 && acks.isEmpty()) {
      finish(null);
    }
  }

  private void finish(Status error) {
    finished = true;
    if (stalled) {
      stalled = false;
      stats.stalledStreams.add(-1);
    }
    discardAcks();
    if (!cancelled) {
      if (error == null) {
        call.onCompleted();
      } else {
        call.onError(error.asRuntimeException());
      }
    }
    onDone.run();
  }

  private void discardAcks() {
    int discarded = 0;
    while (acks.poll() != null) {
      discarded++;
    }
    release(discarded);
  }
}
