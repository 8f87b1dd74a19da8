/**
 * Ingest: the publisher library, the gRPC ingest gateway, the raw-topic validator and the synthetic
 * event generator. Built by the issue "Ingest: events in from any producer".
 */
package dev.streamscore.ingest;
