package dev.streamscore.scoring;

import dev.streamscore.proto.v1.FeatureValue;
import java.util.List;

/**
 * Stored inputs of one request computed by its caller instead of read from the node's store: stream
 * scoring computes each event's features from the events before it in its entity's log.
 */
@FunctionalInterface
public interface FeatureSource {
  /** Every view is read from the node's store. */
  FeatureSource STORE = (view, features) -> null;

  /**
   * The values of these features of a view for the request's entity, in order; null when this
   * source does not compute the view (the node's store is read for it).
   */
  List<FeatureValue> values(String view, List<String> features);
}
