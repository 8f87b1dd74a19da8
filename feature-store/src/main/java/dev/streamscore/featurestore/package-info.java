/**
 * The online feature store on RocksDB: tile rows per view, window values merged at read time, the
 * materializer and the gRPC FeatureService, assembled as a {@link
 * dev.streamscore.featurestore.FeatureNode}.
 */
package dev.streamscore.featurestore;
