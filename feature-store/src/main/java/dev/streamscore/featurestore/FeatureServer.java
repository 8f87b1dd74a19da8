package dev.streamscore.featurestore;

import dev.streamscore.etl.FeatureDef;
import dev.streamscore.etl.FeatureRef;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.ViewSpec;
import dev.streamscore.proto.Daemons;
import dev.streamscore.proto.Health;
import dev.streamscore.proto.ServerTransport;
import dev.streamscore.proto.v1.FeatureDescriptor;
import dev.streamscore.proto.v1.FeatureServiceGrpc;
import dev.streamscore.proto.v1.GetOnlineFeaturesRequest;
import dev.streamscore.proto.v1.GetOnlineFeaturesResponse;
import dev.streamscore.proto.v1.ListFeaturesRequest;
import dev.streamscore.proto.v1.ListFeaturesResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC {@code FeatureService} over a {@link FeatureStore}, on 127.0.0.1 (or any host given).
 *
 * <p>Errors: INVALID_ARGUMENT naming the empty list or the unknown feature, or features of views
 * keyed by different entities; RESOURCE_EXHAUSTED for a batch above {@code maxEntities} or beyond
 * {@code maxConcurrentCalls} calls at once; FAILED_PRECONDITION naming the owning partition for an
 * entity of a partition the replica does not hold; UNAVAILABLE while the store is still
 * bootstrapping.
 */
public final class FeatureServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FeatureServer.class);

  /** Entities per GetOnlineFeatures call, at most. */
  public static final int MAX_ENTITIES = 1_000;

  /** Calls served at once, at most; more are refused rather than queued. */
  public static final int MAX_CONCURRENT_CALLS = 256;

  private final ServerTransport.Listening listening;
  private final ExecutorService executor;
  private final Health health;

  private FeatureServer(
      ServerTransport.Listening listening, ExecutorService executor, Health health) {
    this.listening = listening;
    this.executor = executor;
    this.health = health;
  }

  /**
   * Starts serving.
   *
   * @param behind rows the store is still behind while bootstrapping, 0 once it has caught up
   *     (calls get UNAVAILABLE until then); {@code Materializer::bootstrapLag} usually
   * @throws IllegalStateException naming the port when it cannot be bound
   */
  public static FeatureServer start(
      ServerTransport transport,
      FeatureStore store,
      FeatureSpec spec,
      LongSupplier behind,
      Clock clock) {
    ExecutorService executor =
        Executors.newFixedThreadPool(
            Math.max(2, Runtime.getRuntime().availableProcessors()),
            Daemons.named("feature-server"));
    Health health = new Health(FeatureServiceGrpc.SERVICE_NAME, "feature service");
    transport
        .builder()
        .executor(executor)
        .addService(new Service(store, spec, behind, clock))
        .addService(health.service())
        .intercept(dev.streamscore.proto.GrpcServers.boundedErrors());
    ServerTransport.Listening server = transport.start(executor::shutdownNow);
    FeatureServer fs = new FeatureServer(server, executor, health);
    LOG.info("feature service listening on {}", fs.address());
    return fs;
  }

  /** {@code host:port}. */
  public String address() {
    return listening.address();
  }

  /**
   * The service's {@code grpc.health.v1} status: SERVING until told otherwise (the platform says so
   * while the store bootstraps or its features are stale).
   */
  public Health health() {
    return health;
  }

  @Override
  public void close() {
    health.close();
    listening.stop(java.time.Duration.ofSeconds(10));
    executor.shutdownNow();
    LOG.info("feature service stopped");
  }

  private static final class Service extends FeatureServiceGrpc.FeatureServiceImplBase {
    private final FeatureStore store;
    private final FeatureSpec spec;
    private final LongSupplier behind;
    private final Clock clock;
    private final Semaphore calls = new Semaphore(MAX_CONCURRENT_CALLS);

    Service(FeatureStore store, FeatureSpec spec, LongSupplier behind, Clock clock) {
      this.store = store;
      this.spec = spec;
      this.behind = behind;
      this.clock = clock;
    }

    @Override
    public void getOnlineFeatures(
        GetOnlineFeaturesRequest request, StreamObserver<GetOnlineFeaturesResponse> response) {
      if (!calls.tryAcquire()) {
        response.onError(
            Status.RESOURCE_EXHAUSTED
                .withDescription(
                    "the feature service is serving " + MAX_CONCURRENT_CALLS + " calls; retry")
                .asRuntimeException());
        return;
      }
      try {
        Status invalid = check(request);
        if (invalid != null) {
          response.onError(invalid.asRuntimeException());
          return;
        }
        Ownership owned = store.ownership();
        for (int i = 0; i < request.getEntityIdsCount(); i++) {
          String refusal = owned.refusal(request.getEntityIds(i));
          if (refusal != null) {
            response.onError(
                Status.FAILED_PRECONDITION
                    .withDescription("entity_ids[" + i + "] " + refusal)
                    .asRuntimeException());
            return;
          }
        }
        long lag = behind.getAsLong();
        if (lag > 0) {
          response.onError(
              Status.UNAVAILABLE
                  .withDescription(
                      "the feature store is bootstrapping: " + lag + " rows behind; retry")
                  .asRuntimeException());
          return;
        }
        long asOf = request.getAsOfMs() == 0 ? clock.millis() : request.getAsOfMs();
        GetOnlineFeaturesResponse.Builder out =
            GetOnlineFeaturesResponse.newBuilder()
                .addAllFeatures(request.getFeaturesList())
                .setAsOfMs(asOf);
        out.addAllEntities(
            store.vectors(request.getEntityIdsList(), request.getFeaturesList(), asOf));
        response.onNext(out.build());
        response.onCompleted();
      } catch (IllegalArgumentException e) {
        response.onError(
            Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
      } catch (IllegalStateException | FeatureStoreException e) {
        response.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
      } finally {
        calls.release();
      }
    }

    /** INVALID_ARGUMENT or RESOURCE_EXHAUSTED for a malformed request, null for a good one. */
    private Status check(GetOnlineFeaturesRequest request) {
      if (request.getFeaturesCount() == 0) {
        return Status.INVALID_ARGUMENT.withDescription("features must name at least one feature");
      }
      if (request.getEntityIdsCount() == 0) {
        return Status.INVALID_ARGUMENT.withDescription("entity_ids must name at least one entity");
      }
      if (request.getEntityIdsCount() > MAX_ENTITIES) {
        return Status.RESOURCE_EXHAUSTED.withDescription(
            "entity_ids holds "
                + request.getEntityIdsCount()
                + " entities; at most "
                + MAX_ENTITIES
                + " per call");
      }
      if (request.getAsOfMs() < 0) {
        return Status.INVALID_ARGUMENT.withDescription(
            "as_of_ms must be 0 (now) or a time in ms since the epoch, got " + request.getAsOfMs());
      }
      Set<String> keys = new HashSet<>();
      for (String name : request.getFeaturesList()) {
        ViewSpec view = viewOf(name);
        if (view != null) {
          keys.add(spec.source(view.source()).orElseThrow().keyField());
        }
      }
      if (keys.size() > 1) {
        return Status.INVALID_ARGUMENT.withDescription(
            "features must come from views keyed by one entity; these are keyed by "
                + String.join(", ", keys.stream().sorted().toList()));
      }
      return null;
    }

    /** The view a feature name names, or null: the store answers a bad name, naming it. */
    private ViewSpec viewOf(String name) {
      try {
        return FeatureRef.of(name).map(ref -> spec.views().get(ref.view())).orElse(null);
      } catch (IllegalArgumentException e) {
        return null;
      }
    }

    @Override
    public void listFeatures(
        ListFeaturesRequest request, StreamObserver<ListFeaturesResponse> response) {
      List<FeatureDescriptor> features = new ArrayList<>();
      for (ViewSpec view : spec.views().values()) {
        if (!view.name().startsWith(request.getViewPrefix())) {
          continue;
        }
        String entity = spec.source(view.source()).orElseThrow().keyField();
        for (FeatureDef f : view.features().values()) {
          features.add(
              FeatureDescriptor.newBuilder()
                  .setName(new FeatureRef(view.name(), f.name()).toString())
                  .setView(view.name())
                  .setEntity(entity)
                  .setAggregation(f.aggregation().specName())
                  .setColumn(f.column().orElse(""))
                  .setWindowMs(f.windowMs())
                  .setTtlMs(view.ttlMs())
                  .build());
        }
      }
      features.sort(Comparator.comparing(FeatureDescriptor::getName));
      response.onNext(ListFeaturesResponse.newBuilder().addAllFeatures(features).build());
      response.onCompleted();
    }
  }
}
