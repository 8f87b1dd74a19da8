/**
 * The Spark 4.2 Structured Streaming ETL job: the same definitions and core as Flink, bit for bit.
 * Runs in its own JVM.
 */
package dev.streamscore.etl.spark;
