package dev.streamscore.scoring;

import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.PredictResponse;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * One {@code PredictStream} call: at most {@code window} requests in flight, through gRPC flow
 * control; what has arrived is scored as one batch (up to {@link #MAX_BATCH} requests: one
 * feature-store read and one model call) without waiting for a batch to fill. Each request gets one
 * answer, by request id, a failed one carrying its error; a bad request does not end the stream.
 * The stream completes once the client has half-closed and every request is answered.
 */
final class PredictStreamCall implements StreamObserver<PredictRequest> {
  /** Requests of one stream scored together, at most. */
  static final int MAX_BATCH = 64;

  private final ServerCallStreamObserver<PredictResponse> out;
  private final Executor pool;
  private final Function<List<PredictRequest>, List<Scorer.Outcome>> scoreBatch;
  private final ScoringMetrics metrics;
  private final Context context = Context.current();
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicBoolean halfClosed = new AtomicBoolean();
  private final AtomicBoolean finished = new AtomicBoolean();
  private final ConcurrentLinkedQueue<Queued> queue = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean draining = new AtomicBoolean();

  private record Queued(PredictRequest request, long began) {}

  private record Answer(PredictResponse response, Status.Code code, long began) {}

  /**
   * @param scoreBatch scores and logs a batch, answers in order
   */
  PredictStreamCall(
      StreamObserver<PredictResponse> responses,
      int window,
      Executor pool,
      Function<List<PredictRequest>, List<Scorer.Outcome>> scoreBatch,
      ScoringMetrics metrics) {
    this.out = (ServerCallStreamObserver<PredictResponse>) responses;
    this.pool = pool;
    this.scoreBatch = scoreBatch;
    this.metrics = metrics;
    out.disableAutoRequest();
    out.request(window);
  }

  @Override
  public void onNext(PredictRequest request) {
    long began = System.nanoTime();
    pending.incrementAndGet();
    if (request.getRequestId().isEmpty()) {
      reply(
          List.of(
              failed(
                  request,
                  Status.INVALID_ARGUMENT.withDescription(
                      "request_id is required on PredictStream"),
                  began)));
      return;
    }
    queue.add(new Queued(request, began));
    drainLater();
  }

  /**
   * One drain per stream scores what has queued up as one batch, so under load the batch is
   * whatever arrived while the last one was scored.
   */
  private void drainLater() {
    if (queue.isEmpty() || !draining.compareAndSet(false, true)) {
      return;
    }
    try {
      pool.execute(context.wrap(this::drain));
    } catch (RejectedExecutionException e) {
      List<Answer> answers = new ArrayList<>();
      for (Queued q; (q = queue.poll()) != null; ) {
        answers.add(
            failed(
                q.request(),
                Status.UNAVAILABLE.withDescription("the scoring node is stopping"),
                q.began()));
      }
      draining.set(false);
      reply(answers);
    }
  }

  private void drain() {
    List<Queued> batch = new ArrayList<>(MAX_BATCH);
    List<PredictRequest> requests = new ArrayList<>(MAX_BATCH);
    for (Queued q; batch.size() < MAX_BATCH && (q = queue.poll()) != null; ) {
      batch.add(q);
      requests.add(q.request());
    }
    try {
      if (!batch.isEmpty()) {
        List<Scorer.Outcome> outcomes = scoreBatch.apply(requests);
        List<Answer> answers = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
          Scorer.Outcome o = outcomes.get(i);
          answers.add(
              o.failure() == null
                  ? new Answer(
                      GrpcScoring.response(requests.get(i), o.scored()),
                      Status.Code.OK,
                      batch.get(i).began())
                  : failed(requests.get(i), GrpcScoring.status(o.failure()), batch.get(i).began()));
        }
        reply(answers);
      }
    } finally {
      draining.set(false);
      drainLater();
    }
  }

  private void reply(List<Answer> answers) {
    for (Answer a : answers) {
      metrics.done("PredictStream", a.code(), a.began());
    }
    synchronized (out) {
      if (!finished.get() && !out.isCancelled()) {
        for (Answer a : answers) {
          out.onNext(a.response());
        }
      }
    }
    if (pending.addAndGet(-answers.size()) == 0 && halfClosed.get()) {
      finish();
    } else if (!halfClosed.get()) {
      out.request(answers.size());
    }
  }

  private void finish() {
    synchronized (out) {
      if (finished.compareAndSet(false, true) && !out.isCancelled()) {
        out.onCompleted();
      }
    }
  }

  @Override
  public void onError(Throwable t) {
    finished.set(true); // the client went away; answers still in flight are dropped
  }

  @Override
  public void onCompleted() {
    halfClosed.set(true);
    if (pending.get() == 0) {
      finish();
    }
  }

  private static Answer failed(PredictRequest request, Status status, long began) {
    return new Answer(GrpcScoring.error(request, status), status.getCode(), began);
  }
}
