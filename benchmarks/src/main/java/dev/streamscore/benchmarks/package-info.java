/**
 * JMH benchmarks for hot paths and open-loop load generators (HdrHistogram) for services, each
 * beside its baseline in the same run.
 */
package dev.streamscore.benchmarks;
