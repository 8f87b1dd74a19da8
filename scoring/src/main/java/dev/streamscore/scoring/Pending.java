package dev.streamscore.scoring;

import dev.streamscore.modelsync.Lease;
import dev.streamscore.proto.v1.FeatureIssue;
import dev.streamscore.proto.v1.LogPosition;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** One request on its way through a batch: its version, its input vector, then its outcome. */
final class Pending {
  static final long NO_TIME = Long.MIN_VALUE;

  final ScoreRequest request;
  String alias = "";
  Lease lease;
  float[] vector;
  List<FeatureIssue> issues;

  /** Per input, the event time of the stored value read; {@link #NO_TIME} for the others. */
  long[] featureTimeMs;

  long oldestFeatureTimeMs = Long.MAX_VALUE;

  /** Where in the events log the stored features read stood. */
  final List<LogPosition> positions = new ArrayList<>(1);

  /** The events topics whose features were read from the store, with the entity read. */
  final Map<String, String> storeReads = new HashMap<>(2);

  ScoringException failure;
  Scorer.Scored scored;

  Pending(ScoreRequest request) {
    this.request = request;
  }
}
