/**
 * The feature-definition core: spec parsing and validation, cleansing, per-entity acceptance, tile
 * partials, their merge and window values. Plain Java: every engine calls it and none re-implements
 * it.
 */
package dev.streamscore.etl;
