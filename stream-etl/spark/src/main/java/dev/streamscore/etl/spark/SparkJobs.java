package dev.streamscore.etl.spark;

import org.apache.spark.sql.SparkSession;

/** Spark sessions as the embedded default runs them. */
final class SparkJobs {
  private SparkJobs() {}

  /**
   * A {@code local[threads]} session bound to loopback only (Spark otherwise binds its driver to
   * the machine's external interface), without the web UI, with as many shuffle partitions as
   * threads: the defaults (200 partitions) make every micro-batch of a small stream slow.
   */
  static SparkSession localSession(String name, int threads) {
    return SparkSession.builder()
        .appName(name)
        .master("local[" + threads + "]")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", String.valueOf(threads))
        // Stateful streaming cannot use adaptive execution; turning it off spares a warning a
        // batch.
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.streaming.stopTimeout", "10s")
        .getOrCreate();
  }
}
