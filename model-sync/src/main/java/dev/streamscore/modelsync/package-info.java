/**
 * The model registry (server and client) and the sync agent that hot-swaps model versions through
 * reference-counted handles, each alias on its own.
 */
package dev.streamscore.modelsync;
