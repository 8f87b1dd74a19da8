package dev.streamscore.scoring;

import dev.streamscore.proto.v1.Error;
import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.PredictResponse;
import io.grpc.Status;

/**
 * The gRPC edge of scoring: a {@code PredictRequest} as a {@link ScoreRequest}, a {@link
 * Scorer.Scored} as a {@code PredictResponse}, and each {@link ScoringException.Reason} as the one
 * status a call is answered with.
 */
final class GrpcScoring {
  private GrpcScoring() {}

  /** The request as the scorer takes it: features the model does not take are refused. */
  static ScoreRequest request(PredictRequest request) {
    return new ScoreRequest(
        request.getRequestId(),
        request.getModel(),
        request.getEntityIdsMap(),
        request.getRequestFeaturesMap(),
        ScoreRequest.ExtraFeatures.REFUSE);
  }

  /** The answer to {@code request}; its input vector only when the request asked for it. */
  static PredictResponse response(PredictRequest request, Scorer.Scored scored) {
    PredictResponse.Builder response =
        PredictResponse.newBuilder()
            .setRequestId(request.getRequestId())
            .setModelName(scored.prediction().getModelName())
            .setModelVersion(scored.prediction().getModelVersion())
            .setOldestFeatureTimeMs(scored.oldestFeatureTimeMs())
            .addAllFeatureIssues(scored.issues())
            .setServerLatencyUs(scored.prediction().getLatencyUs())
            .addAllScores(scored.prediction().getScoresList());
    if (scored.prediction().hasFreshness()) {
      response.setFreshness(scored.prediction().getFreshness());
    }
    if (request.getIncludeFeatures()) {
      for (float f : scored.vector()) {
        response.addFeatures(f);
      }
    }
    return response.build();
  }

  /** A stream's answer to a request that was not scored. */
  static PredictResponse error(PredictRequest request, Status status) {
    return PredictResponse.newBuilder()
        .setRequestId(request.getRequestId())
        .setError(
            Error.newBuilder()
                .setCode(status.getCode().value())
                .setMessage(String.valueOf(status.getDescription())))
        .build();
  }

  /** The status a call is answered with. */
  static Status status(ScoringException e) {
    Status status =
        switch (e.reason()) {
          case INVALID_REQUEST, UNKNOWN_MODEL -> Status.INVALID_ARGUMENT;
          case NOT_SERVED -> Status.NOT_FOUND;
          case NOT_LOADED, NOT_READY -> Status.UNAVAILABLE;
          case FEATURE_UNAVAILABLE, NOT_HELD -> Status.FAILED_PRECONDITION;
          case MODEL_FAILED -> Status.INTERNAL;
          case DEADLINE_PASSED -> Status.DEADLINE_EXCEEDED;
          case OVERLOADED -> Status.RESOURCE_EXHAUSTED;
        };
    return status.withDescription(e.getMessage());
  }
}
