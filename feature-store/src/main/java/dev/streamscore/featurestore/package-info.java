/**
 * The online feature store on RocksDB: tile rows per view, window values merged at read time, the
 * materializer and the gRPC FeatureService. Built by the issue "Online feature store on RocksDB".
 */
package dev.streamscore.featurestore;
