/**
 * The online feature store on RocksDB: tile rows per view, window values merged at read time, the
 * materializer and the gRPC FeatureService.
 */
package dev.streamscore.featurestore;
