/**
 * What every server and assembly of ours shares: where a server listens ({@link
 * dev.streamscore.proto.ServerTransport}), how it stops and bounds its errors, its health, the
 * supervision of stages that must not stay dead, and the order in which parts close.
 */
package dev.streamscore.proto;
