package dev.streamscore.modelsync;

import dev.streamscore.proto.Health;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.security.AccessControl;
import dev.streamscore.proto.security.AccessPolicy;
import dev.streamscore.proto.v1.ModelRegistryGrpc;
import io.grpc.Metadata;
import io.grpc.ServerInterceptors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model registry as a server: the {@link Registry} in a directory, served as {@code
 * streamscore.v1.ModelRegistry} ({@link RegistryService}) behind {@link RegistryCaller}, with
 * {@code grpc.health.v1}, on the transport its caller chooses.
 *
 * <p>Who may call what is the transport's access check ({@code ServerSecurity}). A registry of its
 * own with one shared token ({@code --registry-token}) checks {@link AccessPolicy#sharedToken}: the
 * token's holder may do everything, callers without it may read. The history names the
 * authenticated identity, else the name in {@code x-streamscore-user} metadata (the CLI sends the
 * OS user), else {@code anonymous}.
 */
public final class RegistryServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryServer.class);

  /** Artifacts above this size are refused. */
  public static final long MAX_ARTIFACT_BYTES = 1L << 30;

  static final Metadata.Key<String> AUTHORIZATION = AccessControl.AUTHORIZATION;
  static final Metadata.Key<String> USER = RegistryCaller.USER;

  private final ServerTransport.Listening listening;
  private final Registry registry;
  private final Health health;

  private RegistryServer(ServerTransport.Listening listening, Registry registry, Health health) {
    this.listening = listening;
    this.registry = registry;
    this.health = health;
  }

  /**
   * Opens the registry in {@code dir} and serves it on {@code host:port} (0 for any free port).
   *
   * @param token writes need it when present
   * @throws IllegalStateException naming the port when it cannot be bound
   * @throws UncheckedIOException when the directory cannot be opened
   */
  public static RegistryServer start(
      ServerTransport transport, Path dir, Optional<String> token, Clock clock) {
    Registry registry;
    try {
      registry = Registry.open(dir, clock);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the model registry in " + dir, e);
    }
    Health health = new Health(ModelRegistryGrpc.SERVICE_NAME, "model registry");
    AccessPolicy shared = token.map(AccessPolicy::sharedToken).orElse(null);
    transport
        .builder()
        .maxInboundMessageSize(ArtifactDownload.MAX_CHUNK + 64 * 1024)
        .addService(
            token.isPresent()
                ? ServerInterceptors.intercept(
                    new RegistryService(registry),
                    new RegistryCaller(),
                    new AccessControl(() -> shared))
                : ServerInterceptors.intercept(new RegistryService(registry), new RegistryCaller()))
        .addService(health.service())
        .intercept(dev.streamscore.proto.GrpcServers.boundedErrors());
    ServerTransport.Listening server = transport.start(() -> closeQuietly(registry));
    RegistryServer rs = new RegistryServer(server, registry, health);
    LOG.info(
        "model registry listening on {} ({}, revision {}{})",
        rs.address(),
        dir,
        registry.revision(),
        token.isPresent() ? ", writes need the token" : "");
    return rs;
  }

  /**
   * The public key that verifies the versions this registry signs; also in {@code
   * DIR/signing/ed25519.pub} for nodes in other processes.
   */
  public java.security.PublicKey signingKey() {
    return registry.signingKey();
  }

  /** {@code host:port}. */
  public String address() {
    return listening.address();
  }

  /** Stops serving (watch streams end with UNAVAILABLE), then closes the journal. */
  @Override
  public void close() {
    health.close();
    listening.stop(java.time.Duration.ofSeconds(5));
    closeQuietly(registry);
    LOG.info("model registry stopped");
  }

  private static void closeQuietly(Registry registry) {
    try {
      registry.close();
    } catch (IOException e) {
      LOG.warn("closing the registry journal failed: {}", e.toString());
    }
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM has no SHA-256", e);
    }
  }
}
