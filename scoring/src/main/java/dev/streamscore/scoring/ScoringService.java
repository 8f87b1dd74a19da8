package dev.streamscore.scoring;

import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.PredictResponse;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.ScoringGrpc;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code streamscore.v1.Scoring}: admission (deadline, readiness, at most {@code maxInFlight}
 * requests at once, RESOURCE_EXHAUSTED beyond), scoring, logging every prediction, and shadow
 * scoring handed to its own pool. {@code PredictStream} calls are {@link PredictStreamCall}s.
 */
final class ScoringService extends ScoringGrpc.ScoringImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(ScoringService.class);

  private final ScoringServer.Config config;
  private final ScoringServer.Scoring scoring;
  private final ScoringMetrics metrics;
  private final ScoringPools pools;
  private final Semaphore inFlight;
  private final AtomicLong ids = new AtomicLong();

  ScoringService(
      ScoringServer.Config config,
      ScoringServer.Scoring scoring,
      ScoringMetrics metrics,
      ScoringPools pools) {
    this.config = config;
    this.scoring = scoring;
    this.metrics = metrics;
    this.pools = pools;
    this.inFlight = new Semaphore(config.maxInFlight());
  }

  @Override
  public void predict(PredictRequest request, StreamObserver<PredictResponse> response) {
    long began = System.nanoTime();
    PredictResponse answer;
    try {
      if (request.getRequestId().isEmpty()) {
        request =
            request.toBuilder().setRequestId(config.nodeId() + "-" + ids.incrementAndGet()).build();
      }
      answer = scoreOne(request);
    } catch (ScoringException e) {
      Status status = GrpcScoring.status(e);
      metrics.done("Predict", status.getCode(), began);
      response.onError(status.asRuntimeException());
      return;
    } catch (RuntimeException e) {
      // A defect, not the caller's error: said as INTERNAL with its reason, and logged with the
      // trace (gRPC would answer UNKNOWN and log nothing).
      LOG.warn("Predict failed on a defect", e);
      metrics.done("Predict", Status.Code.INTERNAL, began);
      response.onError(
          Status.INTERNAL
              .withDescription("scoring failed: " + e)
              .withCause(e)
              .asRuntimeException());
      return;
    }
    metrics.done("Predict", Status.Code.OK, began);
    response.onNext(answer);
    response.onCompleted();
  }

  @Override
  public StreamObserver<PredictRequest> predictStream(StreamObserver<PredictResponse> responses) {
    return new PredictStreamCall(
        responses, config.streamWindow(), pools.requests(), this::scoreBatch, metrics);
  }

  /** Scores and logs one request; throws with the status to answer. */
  private PredictResponse scoreOne(PredictRequest request) {
    admit(1);
    try {
      Scorer.Scored scored =
          scoring
              .scorer()
              .score(GrpcScoring.request(request), scoring.clock().millis(), this::shadow);
      logged(scored);
      return GrpcScoring.response(request, scored);
    } finally {
      inFlight.release();
    }
  }

  /**
   * Scores and logs a stream's batch: the answers in order, a failed request's carrying its error.
   */
  private List<Scorer.Outcome> scoreBatch(List<PredictRequest> batch) {
    try {
      admit(batch.size());
    } catch (ScoringException e) {
      return Collections.nCopies(batch.size(), new Scorer.Outcome(null, e));
    }
    try {
      List<ScoreRequest> requests = new ArrayList<>(batch.size());
      for (PredictRequest r : batch) {
        requests.add(GrpcScoring.request(r));
      }
      List<Scorer.Outcome> outcomes =
          scoring.scorer().score(requests, scoring.clock().millis(), this::shadow);
      for (Scorer.Outcome o : outcomes) {
        if (o.scored() != null) {
          logged(o.scored());
        }
      }
      return outcomes;
    } finally {
      inFlight.release(batch.size());
    }
  }

  /** Takes {@code n} in-flight permits, or throws with the status to answer. */
  private void admit(int n) {
    Deadline deadline = Context.current().getDeadline();
    if (deadline != null && deadline.isExpired()) {
      throw new ScoringException(
          ScoringException.Reason.DEADLINE_PASSED, "the deadline passed before scoring began");
    }
    ScoringServer.Readiness ready = scoring.readiness().get();
    if (!ready.ready()) {
      throw new ScoringException(ScoringException.Reason.NOT_READY, ready.why());
    }
    if (!inFlight.tryAcquire(n)) {
      throw new ScoringException(
          ScoringException.Reason.OVERLOADED,
          "the node is scoring " + config.maxInFlight() + " requests; retry");
    }
  }

  private void logged(Scorer.Scored scored) {
    Prediction p = scored.prediction();
    if (config.inputLog() == ScoringServer.InputLog.ON) {
      Prediction.Builder withInputs = p.toBuilder();
      for (float f : scored.vector()) {
        withInputs.addFeatures(f);
      }
      p = withInputs.build();
    }
    scoring.log().publish(p);
    metrics.predicted(p);
    metrics.freshness(p);
  }

  private void shadow(Scorer.ShadowTask task) {
    try {
      pools
          .shadows()
          .execute(
              () -> {
                try {
                  scoring
                      .scorer()
                      .scoreShadow(task)
                      .ifPresent(
                          p -> {
                            scoring.log().publish(p);
                            metrics.predicted(p);
                          });
                } catch (ScoringException e) {
                  LOG.debug("shadow scoring failed: {}", e.getMessage());
                }
              });
    } catch (RejectedExecutionException e) {
      metrics.shadowDropped();
    }
  }
}
