package dev.streamscore.modelsync;

import com.google.protobuf.ByteString;
import dev.streamscore.proto.v1.AliasChange;
import dev.streamscore.proto.v1.AliasState;
import dev.streamscore.proto.v1.ArtifactChunk;
import dev.streamscore.proto.v1.DownloadRequest;
import dev.streamscore.proto.v1.GetModelRequest;
import dev.streamscore.proto.v1.GetRunRequest;
import dev.streamscore.proto.v1.HistoryRequest;
import dev.streamscore.proto.v1.ListModelsRequest;
import dev.streamscore.proto.v1.ListNodeStatusRequest;
import dev.streamscore.proto.v1.ListRunsRequest;
import dev.streamscore.proto.v1.Model;
import dev.streamscore.proto.v1.ModelRegistryGrpc;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.NodeStatus;
import dev.streamscore.proto.v1.RecordRunRequest;
import dev.streamscore.proto.v1.RegisterFromRunRequest;
import dev.streamscore.proto.v1.RegisterHeader;
import dev.streamscore.proto.v1.RegisterRequest;
import dev.streamscore.proto.v1.RollbackRequest;
import dev.streamscore.proto.v1.SetAliasRequest;
import dev.streamscore.proto.v1.TrafficPolicy;
import dev.streamscore.proto.v1.TrainingRun;
import dev.streamscore.proto.v1.WatchEvent;
import dev.streamscore.proto.v1.WatchRequest;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A blocking client of the registry for the CLI, the demo, the scoring nodes' sync agents and
 * tests. Sends the token (when given) and the caller's name with every call. Failures are the
 * server's {@link StatusRuntimeException}s.
 */
public final class RegistryClient {
  private static final int CHUNK = 512 * 1024;

  private final ModelRegistryGrpc.ModelRegistryBlockingStub blocking;
  private final ModelRegistryGrpc.ModelRegistryStub async;

  /**
   * @param channel owned by the caller
   * @param token the registry's write token, if it has one
   * @param user recorded as the author of writes
   */
  public RegistryClient(Channel channel, Optional<String> token, String user) {
    Metadata headers = new Metadata();
    token.ifPresent(t -> headers.put(RegistryServer.AUTHORIZATION, "Bearer " + t));
    headers.put(RegistryServer.USER, user);
    Channel withHeaders =
        ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
    this.blocking = ModelRegistryGrpc.newBlockingStub(withHeaders);
    this.async = ModelRegistryGrpc.newStub(withHeaders);
  }

  private RegistryClient(
      ModelRegistryGrpc.ModelRegistryBlockingStub blocking,
      ModelRegistryGrpc.ModelRegistryStub async) {
    this.blocking = blocking;
    this.async = async;
  }

  /**
   * This client with a deadline {@code timeout} from now on every call it makes: take one right
   * before the call ({@code client.within(Duration.ofSeconds(10)).model(name)}).
   */
  public RegistryClient within(Duration timeout) {
    return new RegistryClient(
        blocking.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS),
        async.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS));
  }

  /**
   * The alias states of {@code models} (every model when empty), then every later change, until the
   * call's context is cancelled or the stream breaks (the iterator throws).
   */
  public Iterator<WatchEvent> watch(Set<String> models) {
    return blocking.watch(
        WatchRequest.newBuilder().addAllModels(models).setAfterRevision(0).build());
  }

  /** A version's artifact, in chunks (the first carries its sha256 and size). */
  public Iterator<ArtifactChunk> download(String model, long version) {
    return blocking.download(
        DownloadRequest.newBuilder().setName(model).setVersion(version).build());
  }

  /**
   * Downloads a version's artifact to {@code file}, checking it against the sha256 the registry
   * gives.
   *
   * @throws IOException when the file cannot be written
   * @throws IllegalStateException when the bytes do not match the registry's sha256
   */
  public void downloadTo(String model, long version, Path file) throws IOException {
    java.security.MessageDigest digest = RegistryServer.sha256();
    String expected = "";
    try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(file)) {
      Iterator<ArtifactChunk> chunks = download(model, version);
      while (chunks.hasNext()) {
        ArtifactChunk chunk = chunks.next();
        if (!chunk.getSha256().isEmpty()) {
          expected = chunk.getSha256();
        }
        chunk.getData().writeTo(out);
        digest.update(chunk.getData().asReadOnlyByteBuffer());
      }
    }
    String actual = java.util.HexFormat.of().formatHex(digest.digest());
    if (!actual.equals(expected)) {
      throw new IllegalStateException(
          model
              + " v"
              + version
              + ": the downloaded artifact's sha256 is "
              + actual
              + ", the registry says "
              + expected);
    }
  }

  /** Reports a node's state for one alias; returns the registry's revision. */
  public long report(NodeStatus status) {
    return blocking.reportNodeStatus(status).getRevision();
  }

  /** Uploads {@code artifact} in chunks and registers it as the next version of its model. */
  public ModelVersion register(Path artifact, ModelVersionSpec spec) throws IOException {
    long size = Files.size(artifact);
    return upload(
        artifact,
        async::register,
        RegisterRequest.newBuilder()
            .setHeader(RegisterHeader.newBuilder().setSpec(spec).setSizeBytes(size))
            .build(),
        chunk -> RegisterRequest.newBuilder().setChunk(chunk).build(),
        "registering");
  }

  /**
   * Records a training run with its best model's artifact.
   *
   * @return the run as the registry keeps it (with its id)
   * @throws StatusRuntimeException INVALID_ARGUMENT naming a bad field of {@code run}
   */
  public TrainingRun recordRun(Path artifact, TrainingRun run) throws IOException {
    long size = Files.size(artifact);
    return upload(
        artifact,
        async::recordRun,
        RecordRunRequest.newBuilder().setRun(run.toBuilder().setSizeBytes(size)).build(),
        chunk -> RecordRunRequest.newBuilder().setChunk(chunk).build(),
        "recording the run");
  }

  /** Recorded runs, oldest first, without trials; only {@code model}'s unless empty. */
  public List<TrainingRun> runs(String model) {
    return blocking.listRuns(ListRunsRequest.newBuilder().setModel(model).build()).getRunsList();
  }

  /** One recorded run with its trials. */
  public TrainingRun run(String id) {
    return blocking.getRun(GetRunRequest.newBuilder().setId(id).build());
  }

  /** Registers run {@code id}'s best model as the next version of its model. */
  public ModelVersion registerFromRun(String id) {
    return blocking.registerFromRun(RegisterFromRunRequest.newBuilder().setId(id).build());
  }

  /** One upload call: its header, then the file in chunks; waits for the answer. */
  private <Q, R> R upload(
      Path artifact,
      java.util.function.Function<StreamObserver<R>, StreamObserver<Q>> call,
      Q header,
      java.util.function.Function<ByteString, Q> chunk,
      String what)
      throws IOException {
    CompletableFuture<R> result = new CompletableFuture<>();
    StreamObserver<Q> upload =
        call.apply(
            new StreamObserver<>() {
              @Override
              public void onNext(R value) {
                result.complete(value);
              }

              @Override
              public void onError(Throwable t) {
                result.completeExceptionally(t);
              }

              @Override
              public void onCompleted() {}
            });
    try (InputStream in = Files.newInputStream(artifact)) {
      upload.onNext(header);
      byte[] buf = new byte[CHUNK];
      for (int n; (n = in.readNBytes(buf, 0, buf.length)) > 0 && !result.isDone(); ) {
        upload.onNext(chunk.apply(ByteString.copyFrom(buf, 0, n)));
      }
      upload.onCompleted();
    } catch (IOException | RuntimeException e) {
      upload.onError(e);
      throw e;
    }
    try {
      return result.get(5, TimeUnit.MINUTES);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof StatusRuntimeException s) {
        throw s;
      }
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while " + what, e);
    } catch (TimeoutException e) {
      throw new IllegalStateException("the registry did not answer the upload in 5 minutes", e);
    }
  }

  public AliasState setAlias(String model, String alias, TrafficPolicy policy, String reason) {
    return blocking.setAlias(
        SetAliasRequest.newBuilder()
            .setModel(model)
            .setAlias(alias)
            .setPolicy(policy)
            .setReason(reason)
            .build());
  }

  /** Sends all of the alias's traffic to {@code version}. */
  public AliasState promote(String model, String alias, long version) {
    return setAlias(
        model,
        alias,
        TrafficPolicy.newBuilder()
            .addSplits(
                dev.streamscore.proto.v1.TrafficSplit.newBuilder().setVersion(version).setWeight(1))
            .build(),
        "");
  }

  public AliasState rollback(String model, String alias, String reason) {
    return blocking.rollback(
        RollbackRequest.newBuilder().setModel(model).setAlias(alias).setReason(reason).build());
  }

  public List<AliasChange> history(String model, String alias, int limit) {
    return blocking
        .history(
            HistoryRequest.newBuilder().setModel(model).setAlias(alias).setLimit(limit).build())
        .getChangesList();
  }

  public List<Model> list(String prefix) {
    return blocking
        .listModels(ListModelsRequest.newBuilder().setNamePrefix(prefix).build())
        .getModelsList();
  }

  public Model model(String name) {
    return blocking.getModel(GetModelRequest.newBuilder().setName(name).build());
  }

  public List<NodeStatus> nodeStatuses(String model) {
    return blocking
        .listNodeStatus(ListNodeStatusRequest.newBuilder().setModel(model).build())
        .getStatusesList();
  }
}
