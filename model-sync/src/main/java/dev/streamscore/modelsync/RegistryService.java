package dev.streamscore.modelsync;

import dev.streamscore.proto.v1.AliasState;
import dev.streamscore.proto.v1.ArtifactChunk;
import dev.streamscore.proto.v1.DownloadRequest;
import dev.streamscore.proto.v1.GetModelRequest;
import dev.streamscore.proto.v1.GetRunRequest;
import dev.streamscore.proto.v1.GetVersionRequest;
import dev.streamscore.proto.v1.HistoryRequest;
import dev.streamscore.proto.v1.HistoryResponse;
import dev.streamscore.proto.v1.ListModelsRequest;
import dev.streamscore.proto.v1.ListModelsResponse;
import dev.streamscore.proto.v1.ListNodeStatusRequest;
import dev.streamscore.proto.v1.ListNodeStatusResponse;
import dev.streamscore.proto.v1.ListRunsRequest;
import dev.streamscore.proto.v1.ListRunsResponse;
import dev.streamscore.proto.v1.Model;
import dev.streamscore.proto.v1.ModelRegistryGrpc;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.NodeStatus;
import dev.streamscore.proto.v1.RecordRunRequest;
import dev.streamscore.proto.v1.RegisterFromRunRequest;
import dev.streamscore.proto.v1.RegisterRequest;
import dev.streamscore.proto.v1.ReportNodeStatusResponse;
import dev.streamscore.proto.v1.RollbackRequest;
import dev.streamscore.proto.v1.SetAliasRequest;
import dev.streamscore.proto.v1.TrainingRun;
import dev.streamscore.proto.v1.WatchEvent;
import dev.streamscore.proto.v1.WatchRequest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.HashSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code streamscore.v1.ModelRegistry} over a {@link Registry}: the service's edge, where each
 * {@link RegistryException} becomes its one gRPC status ({@link #status}). Uploads are {@link
 * ArtifactUpload}s, downloads {@link ArtifactDownload}s; the caller's name comes from {@link
 * RegistryCaller}.
 */
final class RegistryService extends ModelRegistryGrpc.ModelRegistryImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryService.class);

  private final Registry registry;

  RegistryService(Registry registry) {
    this.registry = registry;
  }

  /** The status a refusal is answered with. */
  static Status status(RegistryException e) {
    Status status =
        switch (e.reason()) {
          case INVALID -> Status.INVALID_ARGUMENT;
          case NOT_FOUND -> Status.NOT_FOUND;
          case STALE_REVISION -> Status.ABORTED;
          case NOTHING_TO_ROLL_BACK -> Status.FAILED_PRECONDITION;
          case CLOSED -> Status.UNAVAILABLE;
          case STORAGE -> Status.INTERNAL;
          case ARTIFACT_UNREADABLE -> Status.DATA_LOSS;
        };
    return status.withDescription(e.getMessage());
  }

  @Override
  public StreamObserver<RegisterRequest> register(StreamObserver<ModelVersion> response) {
    return new ArtifactUpload<>(
        Uploads.register(registry), registry, RegistryCaller.caller(), response);
  }

  @Override
  public StreamObserver<RecordRunRequest> recordRun(StreamObserver<TrainingRun> response) {
    return new ArtifactUpload<>(
        Uploads.recordRun(registry), registry, RegistryCaller.caller(), response);
  }

  @Override
  public void listRuns(ListRunsRequest request, StreamObserver<ListRunsResponse> response) {
    unary(
        response,
        () -> ListRunsResponse.newBuilder().addAllRuns(registry.runs(request.getModel())).build());
  }

  @Override
  public void getRun(GetRunRequest request, StreamObserver<TrainingRun> response) {
    unary(response, () -> registry.run(request.getId()));
  }

  @Override
  public void registerFromRun(
      RegisterFromRunRequest request, StreamObserver<ModelVersion> response) {
    String by = RegistryCaller.caller();
    unary(
        response,
        () -> {
          ModelVersion v = registry.registerFromRun(request.getId(), by);
          LOG.info(
              "registered {} version {} from run {} by {}",
              v.getName(),
              v.getVersion(),
              request.getId(),
              by);
          return v;
        });
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
    String by = RegistryCaller.caller();
    unary(response, () -> logged("->", registry.setAlias(request, by), by));
  }

  @Override
  public void rollback(RollbackRequest request, StreamObserver<AliasState> response) {
    String by = RegistryCaller.caller();
    unary(
        response,
        () ->
            logged(
                "rolled back to",
                registry.rollback(request.getModel(), request.getAlias(), request.getReason(), by),
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

  @Override
  public void reportNodeStatus(
      NodeStatus request, StreamObserver<ReportNodeStatusResponse> response) {
    unary(
        response,
        () -> {
          if (request.getNodeId().isEmpty()) {
            throw RegistryException.invalid("node_id is empty");
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
    ArtifactDownload.start(registry, request, (ServerCallStreamObserver<ArtifactChunk>) response);
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
    } catch (RegistryException e) {
      response.onError(status(e).asRuntimeException());
    }
  }

  private interface Call<T> {
    T get() throws IOException;
  }

  private static <T> void unary(StreamObserver<T> response, Call<T> call) {
    T value;
    try {
      value = call.get();
    } catch (RegistryException e) {
      response.onError(status(e).asRuntimeException());
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
