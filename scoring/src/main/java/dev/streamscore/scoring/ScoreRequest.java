package dev.streamscore.scoring;

import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.Value;
import java.util.Map;
import java.util.Objects;

/**
 * One request to score, whichever path it came by: a gRPC {@code PredictRequest} ({@link
 * GrpcScoring#request}) or an event on a stream ({@link StreamScoring}). The maps are not copied:
 * pass unmodifiable ones (protobuf's are).
 *
 * @param requestId names the prediction (the stream path uses the event's topic, partition and
 *     offset)
 * @param model the model and the alias or pinned version; no selector means alias {@code prod}
 * @param entityIds entity ids by key field ({@code user_id -> u1})
 * @param features request-time features by name
 * @param extraFeatures what to do with features the model does not take
 * @param storedFeatures where stored inputs come from: {@link FeatureSource#STORE}, the node's
 *     store at the request's time, or values computed by the caller (stream scoring's log-order
 *     features)
 */
public record ScoreRequest(
    String requestId,
    ModelRef model,
    Map<String, String> entityIds,
    Map<String, Value> features,
    ExtraFeatures extraFeatures,
    FeatureSource storedFeatures) {
  public ScoreRequest {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(entityIds, "entityIds");
    Objects.requireNonNull(features, "features");
    Objects.requireNonNull(extraFeatures, "extraFeatures");
    Objects.requireNonNull(storedFeatures, "storedFeatures");
  }

  /** A request whose stored inputs are read from the node's store. */
  public ScoreRequest(
      String requestId,
      ModelRef model,
      Map<String, String> entityIds,
      Map<String, Value> features,
      ExtraFeatures extraFeatures) {
    this(requestId, model, entityIds, features, extraFeatures, FeatureSource.STORE);
  }

  /**
   * Features the model does not take: refused (a client's typo), or ignored (an event's fields).
   */
  public enum ExtraFeatures {
    REFUSE,
    IGNORE
  }
}
