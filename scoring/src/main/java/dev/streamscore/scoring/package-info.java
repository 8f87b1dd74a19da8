/**
 * Scoring nodes: the gRPC Scoring service, model execution through DJL, routing by traffic policy,
 * the prediction log and stream scoring. Built by the issue "Scoring nodes".
 */
package dev.streamscore.scoring;
