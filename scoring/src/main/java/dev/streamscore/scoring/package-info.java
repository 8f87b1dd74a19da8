/**
 * Scoring nodes: {@link dev.streamscore.scoring.ScoringNode} assembles a node (feature-store
 * replica, sync agent, scorer, gRPC server, prediction log, stream scoring); the {@link
 * dev.streamscore.scoring.Scorer} scores neutral {@link dev.streamscore.scoring.ScoreRequest}s for
 * the gRPC service and for stream scoring alike.
 */
package dev.streamscore.scoring;
