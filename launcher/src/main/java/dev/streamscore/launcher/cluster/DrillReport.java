package dev.streamscore.launcher.cluster;

import dev.streamscore.launcher.load.OpenLoop;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The drill's outcome.
 *
 * @param rawAcked payments Kafka acknowledged into {@code raw.payments}, directly or through a
 *     gateway
 * @param ingest the calls through the gateways: answered (accepted or rejected), failed
 * @param ingestRetries publish attempts the client made again
 * @param ingestFailures failed publish calls by status code
 * @param rawRecords committed records of {@code raw.payments}
 * @param outcomes events plus ingest dead letters
 * @param rawWithoutOutcome raw records that became neither
 * @param rawWithSeveralOutcomes raw records that became more than one
 * @param events committed events
 * @param streamPredictions committed stream predictions
 * @param eventsWithoutPrediction events no stream prediction scored
 * @param eventsWithSeveralPredictions events scored more than once
 * @param predictFailures failed Predict calls by status code
 * @param tilesCompared feature tiles starting after the load began, compared with the core's replay
 *     of the whole events log; -1 when the plan skipped the comparison
 * @param tileDifferences how those tiles differ from the replay's; empty when they do not
 */
public record DrillReport(
    long rawAcked,
    OpenLoop.Result ingest,
    long ingestRetries,
    Map<String, Long> ingestFailures,
    long rawRecords,
    long outcomes,
    long rawWithoutOutcome,
    long rawWithSeveralOutcomes,
    long events,
    long streamPredictions,
    long eventsWithoutPrediction,
    long eventsWithSeveralPredictions,
    long predictSent,
    long predictFailed,
    long predictRetries,
    Map<String, Long> predictFailures,
    long tilesCompared,
    String tileDifferences,
    List<FaultResult> faults) {

  /** Whether every check held. */
  public boolean passed() {
    // A call resent after its gateway died may have been written by it before it died.
    return rawRecords >= rawAcked
        && rawRecords - rawAcked <= ingestRetries
        && ingest.failed() == 0
        && rawWithoutOutcome == 0
        && rawWithSeveralOutcomes == 0
        && eventsWithoutPrediction == 0
        && eventsWithSeveralPredictions == 0
        && predictFailed == 0
        && (tilesCompared < 0 || (tilesCompared > 0 && tileDifferences.isEmpty()));
  }

  /** The printed report: one line per check, one per fault. */
  public List<String> lines() {
    List<String> lines = new ArrayList<>();
    lines.add(
        String.format(
            "raw records: %,d acked, %,d committed; %,d outcomes (events + dead letters);"
                + " without one: %,d, with several: %,d",
            rawAcked, rawRecords, outcomes, rawWithoutOutcome, rawWithSeveralOutcomes));
    lines.add(
        String.format(
            "through the gateways: %,d sent, %,d answered, %,d failed %s, %,d attempts retried"
                + " by gRPC",
            ingest.sent(), ingest.answered(), ingest.failed(), ingestFailures, ingestRetries));
    lines.add(
        String.format(
            "events: %,d; stream predictions: %,d; unscored: %,d, scored twice: %,d",
            events, streamPredictions, eventsWithoutPrediction, eventsWithSeveralPredictions));
    lines.add(
        String.format(
            "Predict: %,d sent, %,d failed %s, %,d attempts retried by gRPC",
            predictSent, predictFailed, predictFailures, predictRetries));
    lines.add(
        tilesCompared < 0
            ? "feature tiles: not compared"
            : String.format(
                "feature tiles since the load began: %,d, equal to the core's replay of the"
                    + " events%s",
                tilesCompared, tileDifferences.isEmpty() ? "" : " EXCEPT: " + tileDifferences));
    for (FaultResult f : faults) {
      lines.add(
          String.format(
              "kill -9 %-18s back in %5.1f s; Predict meanwhile p50 %.1f ms, p99 %.1f ms,"
                  + " %d failed, %d retries",
              f.member(),
              f.toService().toMillis() / 1000.0,
              f.p50Millis(),
              f.p99Millis(),
              f.predictFailed(),
              f.predictRetries()));
    }
    lines.add(passed() ? "drill passed" : "drill FAILED");
    return lines;
  }

  /**
   * One fault's account, from the kill to the end of the load after it.
   *
   * @param member the member, or the members killed together joined by {@code +}
   * @param toService from the SIGKILL until the members serve again (the ETL job runs again)
   * @param predictFailed Predict calls that failed in the window
   * @param predictRetries Predict attempts the client made again in the window
   */
  public record FaultResult(
      String member,
      Duration toService,
      long predictFailed,
      long predictRetries,
      double p50Millis,
      double p99Millis) {}
}
