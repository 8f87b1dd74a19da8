package dev.streamscore.scoring;

import dev.streamscore.modelsync.Lease;
import dev.streamscore.proto.v1.FeatureIssue;
import java.util.List;
import java.util.Map;

/** One request on its way through a batch: its version, its input vector, then its outcome. */
final class Pending {
  final ScoreRequest request;
  String alias = "";
  Lease lease;
  float[] vector;
  List<FeatureIssue> issues;
  Map<String, Long> featureTimes;
  long oldestFeatureTimeMs = Long.MAX_VALUE;
  ScoringException failure;
  Scorer.Scored scored;

  Pending(ScoreRequest request) {
    this.request = request;
  }
}
