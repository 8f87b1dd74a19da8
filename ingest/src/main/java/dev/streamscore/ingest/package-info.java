/**
 * Ingest: the publisher library, the gRPC ingest gateway, the raw-topic validator (with its
 * dead-letter exception handler for Kafka Streams stages) and the synthetic event generator.
 */
package dev.streamscore.ingest;
