package dev.streamscore.featurestore;

/**
 * A RocksDB operation of a feature store failed. The message names the store (its directory) and
 * the operation; the cause is the {@code RocksDBException}.
 */
public final class FeatureStoreException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  FeatureStoreException(String store, String operation, Throwable cause) {
    super("feature store " + store + ": cannot " + operation + ": " + cause.getMessage(), cause);
  }
}
