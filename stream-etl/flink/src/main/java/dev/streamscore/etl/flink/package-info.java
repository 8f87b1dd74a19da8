/**
 * The Flink 2.2 streaming ETL job: events to tile rows through the feature-definition core. Runs in
 * its own JVM; never shares a classpath with the platform or Spark.
 */
package dev.streamscore.etl.flink;
