/**
 * Scoring nodes: the gRPC Scoring service, input assembly from the feature store and the request,
 * model execution through DJL, the prediction log and stream scoring.
 */
package dev.streamscore.scoring;
