package dev.streamscore.modelsync;

import com.google.protobuf.ByteString;
import dev.streamscore.proto.Health;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.v1.AliasState;
import dev.streamscore.proto.v1.ArtifactChunk;
import dev.streamscore.proto.v1.DownloadRequest;
import dev.streamscore.proto.v1.GetModelRequest;
import dev.streamscore.proto.v1.GetVersionRequest;
import dev.streamscore.proto.v1.HistoryRequest;
import dev.streamscore.proto.v1.HistoryResponse;
import dev.streamscore.proto.v1.ListModelsRequest;
import dev.streamscore.proto.v1.ListModelsResponse;
import dev.streamscore.proto.v1.ListNodeStatusRequest;
import dev.streamscore.proto.v1.ListNodeStatusResponse;
import dev.streamscore.proto.v1.Model;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelRegistryGrpc;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.NodeStatus;
import dev.streamscore.proto.v1.RegisterHeader;
import dev.streamscore.proto.v1.RegisterRequest;
import dev.streamscore.proto.v1.ReportNodeStatusResponse;
import dev.streamscore.proto.v1.RollbackRequest;
import dev.streamscore.proto.v1.SetAliasRequest;
import dev.streamscore.proto.v1.WatchEvent;
import dev.streamscore.proto.v1.WatchRequest;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC {@code ModelRegistry} over a directory (see {@link Registry} for the layout).
 *
 * <p>Writes ({@code Register}, {@code SetAlias}, {@code Rollback}, {@code ReportNodeStatus}) need
 * {@code authorization: Bearer <token>} metadata when a token is configured (else UNAUTHENTICATED).
 * The writer's name comes from {@code x-streamscore-user} metadata (the CLI sends the OS user),
 * {@code anonymous} without it.
 */
public final class RegistryServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryServer.class);

  /** Artifacts above this size are refused. */
  public static final long MAX_ARTIFACT_BYTES = 1L << 30;

  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> USER =
      Metadata.Key.of("x-streamscore-user", Metadata.ASCII_STRING_MARSHALLER);
  private static final Context.Key<String> CALLER = Context.key("streamscore-user");
  private static final int DEFAULT_CHUNK = 256 * 1024;
  private static final int MAX_CHUNK = 1 << 20;

  private final Server server;
  private final Registry registry;
  private final String address;

  private final Health health;

  private RegistryServer(Server server, Registry registry, String address, Health health) {
    this.server = server;
    this.registry = registry;
    this.address = address;
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
    transport
        .builder()
        .maxInboundMessageSize(MAX_CHUNK + 64 * 1024)
        .addService(ServerInterceptors.intercept(new Service(registry), new Auth(token)))
        .addService(health.service())
        .intercept(dev.streamscore.proto.GrpcServers.boundedErrors());
    Server server;
    try {
      server = transport.start();
    } catch (IllegalStateException e) {
      closeQuietly(registry);
      throw e;
    }
    RegistryServer rs = new RegistryServer(server, registry, transport.address(server), health);
    LOG.info(
        "model registry listening on {} ({}, revision {}{})",
        rs.address(),
        dir,
        registry.revision(),
        token.isPresent() ? ", writes need the token" : "");
    return rs;
  }

  /** {@code host:port}. */
  public String address() {
    return address;
  }

  /** Stops serving (watch streams end with UNAVAILABLE), then closes the journal. */
  @Override
  public void close() {
    health.close();
    dev.streamscore.proto.GrpcServers.stop(server, java.time.Duration.ofSeconds(5));
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

  /** Checks the token on writes and records the caller's name. */
  private static final class Auth implements ServerInterceptor {
    private static final Set<String> WRITES =
        Set.of("Register", "SetAlias", "Rollback", "ReportNodeStatus");
    private final Optional<String> token;

    Auth(Optional<String> token) {
      this.token = token;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      String method = call.getMethodDescriptor().getBareMethodName();
      if (token.isPresent() && WRITES.contains(method)) {
        String given = headers.get(AUTHORIZATION);
        if (given == null
            || !MessageDigest.isEqual(
                given.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                ("Bearer " + token.get()).getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
          call.close(
              Status.UNAUTHENTICATED.withDescription(
                  given == null
                      ? method + " needs 'authorization: Bearer <token>': this registry has a token"
                      : method + ": the token is wrong"),
              new Metadata());
          return new ServerCall.Listener<>() {};
        }
      }
      String user = headers.get(USER);
      Context ctx = Context.current().withValue(CALLER, user == null ? "anonymous" : user);
      return Contexts.interceptCall(ctx, call, headers, next);
    }
  }

  private static final class Service extends ModelRegistryGrpc.ModelRegistryImplBase {
    private final Registry registry;

    Service(Registry registry) {
      this.registry = registry;
    }

    @Override
    public StreamObserver<RegisterRequest> register(StreamObserver<ModelVersion> response) {
      String by = CALLER.get();
      return new StreamObserver<>() {
        private RegisterHeader header;
        private Path staged;
        private OutputStream out;
        private MessageDigest digest;
        private long size;
        private boolean failed;

        @Override
        public void onNext(RegisterRequest request) {
          if (failed) {
            return;
          }
          try {
            if (request.hasHeader()) {
              start(request.getHeader());
            } else if (header == null) {
              throw Registry.invalid("the first message of Register must be the header");
            } else {
              ByteString chunk = request.getChunk();
              size += chunk.size();
              if (size > MAX_ARTIFACT_BYTES) {
                throw Registry.invalid(
                    "the artifact is over the limit of " + MAX_ARTIFACT_BYTES + " bytes");
              }
              chunk.writeTo(out);
              digest.update(chunk.asReadOnlyByteBuffer());
            }
          } catch (StatusRuntimeException e) {
            fail(e);
          } catch (IOException e) {
            fail(
                Status.INTERNAL
                    .withDescription("staging the upload failed: " + e)
                    .asRuntimeException());
          }
        }

        private void start(RegisterHeader h) throws IOException {
          if (header != null) {
            throw Registry.invalid("Register takes one header, then chunks");
          }
          Registry.check(h.getSpec());
          if (h.getSizeBytes() > MAX_ARTIFACT_BYTES) {
            throw Registry.invalid(
                "size_bytes "
                    + h.getSizeBytes()
                    + " is over the limit of "
                    + MAX_ARTIFACT_BYTES
                    + " bytes");
          }
          header = h;
          staged = registry.stagingFile();
          out = Files.newOutputStream(staged);
          digest = sha256();
        }

        @Override
        public void onError(Throwable t) {
          failed = true;
          cleanUp();
        }

        @Override
        public void onCompleted() {
          if (failed) {
            return;
          }
          try {
            if (header == null) {
              throw Registry.invalid("Register needs a header and the artifact's bytes");
            }
            out.close();
            if (size == 0) {
              throw Registry.invalid("the artifact is empty");
            }
            if (header.getSizeBytes() > 0 && header.getSizeBytes() != size) {
              throw Registry.invalid(
                  "size_bytes says " + header.getSizeBytes() + " but " + size + " bytes came");
            }
            String sha = HexFormat.of().formatHex(digest.digest());
            if (!header.getExpectedSha256().isEmpty()
                && !header.getExpectedSha256().equalsIgnoreCase(sha)) {
              throw Registry.invalid(
                  "expected_sha256 is "
                      + header.getExpectedSha256()
                      + " but the artifact hashes to "
                      + sha);
            }
            checkFormat(header.getSpec(), staged);
            ModelVersion v = registry.register(header.getSpec(), staged, sha, size, by);
            LOG.info(
                "registered {} version {} ({} bytes, sha256 {}) by {}",
                v.getName(),
                v.getVersion(),
                size,
                sha.substring(0, 12),
                by);
            response.onNext(v);
            response.onCompleted();
          } catch (StatusRuntimeException e) {
            fail(e);
          } catch (IOException e) {
            fail(
                Status.INTERNAL
                    .withDescription("storing the artifact failed: " + e)
                    .asRuntimeException());
          }
        }

        private void fail(StatusRuntimeException e) {
          failed = true;
          cleanUp();
          response.onError(e);
        }

        private void cleanUp() {
          try {
            if (out != null) {
              out.close();
            }
            if (staged != null) {
              Files.deleteIfExists(staged);
            }
          } catch (IOException e) {
            LOG.warn("could not remove the staged upload {}: {}", staged, e.toString());
          }
        }
      };
    }

    @Override
    public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> response) {
      unary(
          response,
          () ->
              ListModelsResponse.newBuilder()
                  .addAllModels(registry.list(request.getNamePrefix()))
                  .build());
    }

    @Override
    public void getModel(GetModelRequest request, StreamObserver<Model> response) {
      unary(response, () -> registry.model(request.getName()));
    }

    @Override
    public void getVersion(GetVersionRequest request, StreamObserver<ModelVersion> response) {
      unary(response, () -> registry.resolve(request.getModel()));
    }

    @Override
    public void setAlias(SetAliasRequest request, StreamObserver<AliasState> response) {
      String by = CALLER.get();
      unary(response, () -> logged("->", registry.setAlias(request, by), by));
    }

    @Override
    public void rollback(RollbackRequest request, StreamObserver<AliasState> response) {
      String by = CALLER.get();
      unary(
          response,
          () ->
              logged(
                  "rolled back to",
                  registry.rollback(
                      request.getModel(), request.getAlias(), request.getReason(), by),
                  by));
    }

    private static AliasState logged(String verb, AliasState s, String by) {
      LOG.info(
          "alias {}/{} {} {} (revision {}) by {}",
          s.getModel(),
          s.getAlias(),
          verb,
          Policies.describe(s.getPolicy()),
          s.getRevision(),
          by);
      return s;
    }

    @Override
    public void history(HistoryRequest request, StreamObserver<HistoryResponse> response) {
      unary(
          response,
          () ->
              HistoryResponse.newBuilder()
                  .addAllChanges(
                      registry.history(request.getModel(), request.getAlias(), request.getLimit()))
                  .build());
    }

    /**
     * An ONNX artifact must parse, with one float input whose width is the number of declared
     * inputs: refused at the door rather than by every node that tries to load it.
     */
    private static void checkFormat(ModelVersionSpec spec, Path artifact) {
      if (spec.getFormat() != ModelFormat.MODEL_FORMAT_ONNX) {
        return;
      }
      int width;
      try {
        width = OnnxModel.inputWidthOf(artifact);
      } catch (RuntimeException e) {
        throw Registry.invalid("the artifact is " + e.getMessage());
      }
      if (width > 0 && width != spec.getInputsCount()) {
        throw Registry.invalid(
            "the model takes "
                + width
                + " inputs but spec.inputs declares "
                + spec.getInputsCount());
      }
    }

    @Override
    public void reportNodeStatus(
        NodeStatus request, StreamObserver<ReportNodeStatusResponse> response) {
      unary(
          response,
          () -> {
            if (request.getNodeId().isEmpty()) {
              throw Registry.invalid("node_id is empty");
            }
            return ReportNodeStatusResponse.newBuilder()
                .setRevision(registry.report(request))
                .build();
          });
    }

    @Override
    public void listNodeStatus(
        ListNodeStatusRequest request, StreamObserver<ListNodeStatusResponse> response) {
      unary(
          response,
          () ->
              ListNodeStatusResponse.newBuilder()
                  .addAllStatuses(registry.nodeStatuses(request.getModel()))
                  .build());
    }

    @Override
    public void download(DownloadRequest request, StreamObserver<ArtifactChunk> response) {
      ServerCallStreamObserver<ArtifactChunk> call =
          (ServerCallStreamObserver<ArtifactChunk>) response;
      ModelVersion version;
      InputStream in;
      try {
        if (request.getChunkSize() < 0 || request.getChunkSize() > MAX_CHUNK) {
          throw Registry.invalid(
              "chunk_size must be 0 (default) or 1.."
                  + MAX_CHUNK
                  + ", got "
                  + request.getChunkSize());
        }
        version =
            registry.resolve(
                dev.streamscore.proto.v1.ModelRef.newBuilder()
                    .setName(request.getName())
                    .setVersion(request.getVersion())
                    .build());
        in = Files.newInputStream(registry.artifact(version.getSha256()));
      } catch (StatusRuntimeException e) {
        response.onError(e);
        return;
      } catch (IOException e) {
        response.onError(
            Status.DATA_LOSS
                .withDescription(
                    "the artifact of "
                        + request.getName()
                        + " version "
                        + request.getVersion()
                        + " cannot be read: "
                        + e.getMessage())
                .asRuntimeException());
        return;
      }
      int chunkSize = request.getChunkSize() == 0 ? DEFAULT_CHUNK : request.getChunkSize();
      // Sends only while the client keeps up: a slow reader holds no more than one chunk here.
      Runnable drain =
          new Runnable() {
            private long offset;
            private boolean done;

            @Override
            public void run() {
              try {
                while (!done && call.isReady()) {
                  byte[] buf = in.readNBytes(chunkSize);
                  if (buf.length == 0 && offset > 0) {
                    done = true;
                    in.close();
                    call.onCompleted();
                    return;
                  }
                  ArtifactChunk.Builder chunk =
                      ArtifactChunk.newBuilder()
                          .setOffset(offset)
                          .setData(ByteString.copyFrom(buf));
                  if (offset == 0) {
                    chunk.setSha256(version.getSha256()).setSizeBytes(version.getSizeBytes());
                  }
                  offset += buf.length;
                  call.onNext(chunk.build());
                }
              } catch (IOException e) {
                done = true;
                closeStream(in);
                call.onError(
                    Status.DATA_LOSS
                        .withDescription("reading the artifact failed: " + e)
                        .asRuntimeException());
              }
            }
          };
      call.setOnCancelHandler(() -> closeStream(in));
      call.setOnReadyHandler(drain);
    }

    @Override
    public void watch(WatchRequest request, StreamObserver<WatchEvent> response) {
      ServerCallStreamObserver<WatchEvent> call = (ServerCallStreamObserver<WatchEvent>) response;
      try {
        AutoCloseable subscription =
            registry.watch(
                new HashSet<>(request.getModelsList()), request.getAfterRevision(), call::onNext);
        call.setOnCancelHandler(
            () -> {
              try {
                subscription.close();
              } catch (Exception e) {
                LOG.debug("closing a watch failed", e);
              }
            });
      } catch (StatusRuntimeException e) {
        response.onError(e);
      }
    }

    private static void closeStream(InputStream in) {
      try {
        in.close();
      } catch (IOException e) {
        LOG.debug("closing an artifact stream failed", e);
      }
    }

    private interface Call<T> {
      T get() throws IOException;
    }

    private static <T> void unary(StreamObserver<T> response, Call<T> call) {
      T value;
      try {
        value = call.get();
      } catch (StatusRuntimeException e) {
        response.onError(e);
        return;
      } catch (IOException e) {
        response.onError(
            Status.INTERNAL
                .withDescription("the registry journal failed: " + e)
                .asRuntimeException());
        return;
      }
      response.onNext(value);
      response.onCompleted();
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
