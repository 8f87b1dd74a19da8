/**
 * The model registry (server, client, CLI verbs) and the sync agent that hot-swaps model versions
 * through reference-counted handles. Built by the issue "Model registry and hot-swap".
 */
package dev.streamscore.modelsync;
