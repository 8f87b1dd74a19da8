package dev.streamscore.scoring;

import dev.streamscore.proto.v1.Error;
import dev.streamscore.proto.v1.PredictRequest;
import dev.streamscore.proto.v1.PredictResponse;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.ScoringGrpc;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A scoring node's gRPC face: {@code streamscore.v1.Scoring} ({@code Predict}, {@code
 * PredictStream}), {@code grpc.health.v1} (NOT_SERVING until every model alias has loaded and the
 * feature store has caught up) and server reflection.
 *
 * <p>Requests run on a fixed pool; at most {@link Config#maxInFlight()} are scored at once, and
 * more are answered RESOURCE_EXHAUSTED at once rather than queued. A request whose deadline has
 * passed is not scored. Each stream keeps at most {@link Config#streamWindow()} requests in flight,
 * through gRPC flow control, and scores what has arrived as one batch (up to 64 requests: one
 * feature-store read and one model call), without waiting for a batch to fill. Shadow versions are
 * scored on their own bounded pool, off the request path; what it cannot take is dropped and
 * counted. Every prediction (and shadow prediction) goes to the {@link PredictionSink}, which never
 * blocks.
 *
 * <p>Close order: stop the server (in-flight calls finish, up to 10 s), then the pools.
 */
public final class ScoringServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ScoringServer.class);
  private static final String SERVICE = ScoringGrpc.SERVICE_NAME;

  /** Requests of one stream scored together, at most. */
  private static final int MAX_BATCH = 64;

  /**
   * @param host the address to bind (127.0.0.1 on the embedded default)
   * @param port 0 for any free port
   * @param nodeId names this node in predictions
   * @param threads request threads
   * @param maxInFlight requests scored at once, at most
   * @param streamWindow requests in flight per stream, at most
   */
  public record Config(
      String host, int port, String nodeId, int threads, int maxInFlight, int streamWindow) {
    public Config {
      Objects.requireNonNull(host, "host");
      if (port < 0 || port > 65_535) {
        throw new IllegalArgumentException("port must be 0..65535, got " + port);
      }
      if (threads < 1 || maxInFlight < 1 || streamWindow < 1) {
        throw new IllegalArgumentException("threads, maxInFlight and streamWindow must be >= 1");
      }
    }

    /** Two request threads per core, 1,024 requests in flight, 128 per stream. */
    public static Config defaults(String host, int port, String nodeId) {
      return new Config(
          host, port, nodeId, 2 * Runtime.getRuntime().availableProcessors(), 1_024, 128);
    }
  }

  /** Whether the node can serve now, and if not, why. */
  public record Readiness(boolean ready, String why) {}

  private final Server server;
  private final ThreadPoolExecutor requests;
  private final ThreadPoolExecutor shadows;
  private final ScheduledExecutorService health;
  private final String host;

  private ScoringServer(
      Server server,
      ThreadPoolExecutor requests,
      ThreadPoolExecutor shadows,
      ScheduledExecutorService health,
      String host) {
    this.server = server;
    this.requests = requests;
    this.shadows = shadows;
    this.health = health;
    this.host = host;
  }

  /**
   * Starts serving.
   *
   * @param readiness checked before every request and by the health service every 200 ms
   * @param metrics where the request, latency and prediction metrics are registered
   * @throws IllegalStateException naming the port when it cannot be bound
   */
  public static ScoringServer start(
      Config config,
      Scorer scorer,
      PredictionSink log,
      Supplier<Readiness> readiness,
      PrometheusRegistry metrics,
      Clock clock) {
    return start(config, scorer, log, readiness, Map::of, metrics, clock);
  }

  /**
   * Starts serving, with health for more service names than the node's.
   *
   * @param services more {@code grpc.health.v1} service names (for example one per model) and
   *     whether each serves; each is SERVING only while the node is ready too. A name that
   *     disappears turns NOT_SERVING. The entry {@code ""}, when given, also gates the overall
   *     status (the node answers requests but reports itself unhealthy, for example while its
   *     features are stale).
   */
  public static ScoringServer start(
      Config config,
      Scorer scorer,
      PredictionSink log,
      Supplier<Readiness> readiness,
      Supplier<Map<String, Boolean>> services,
      PrometheusRegistry metrics,
      Clock clock) {
    ThreadPoolExecutor requests =
        new ThreadPoolExecutor(
            config.threads(),
            config.threads(),
            0,
            TimeUnit.MILLISECONDS,
            new java.util.concurrent.LinkedBlockingQueue<>(),
            daemon("scoring"));
    ThreadPoolExecutor shadows =
        new ThreadPoolExecutor(
            1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(1_000), daemon("shadow"));
    Service service = new Service(config, scorer, log, readiness, new Metrics(metrics), clock);
    service.shadows = shadows;
    service.pool = requests;
    HealthStatusManager healthManager = new HealthStatusManager();
    healthManager.setStatus("", ServingStatus.NOT_SERVING);
    healthManager.setStatus(SERVICE, ServingStatus.NOT_SERVING);
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress(config.host(), config.port()))
            .executor(requests)
            .addService(service)
            .addService(healthManager.getHealthService())
            .addService(ProtoReflectionServiceV1.newInstance())
            .intercept(dev.streamscore.proto.GrpcServers.boundedErrors())
            .build();
    try {
      server.start();
    } catch (IOException e) {
      requests.shutdownNow();
      shadows.shutdownNow();
      throw new IllegalStateException(
          dev.streamscore.proto.GrpcServers.listenFailure(config.host(), config.port(), e), e);
    }
    ScheduledExecutorService checker = Executors.newSingleThreadScheduledExecutor(daemon("health"));
    AtomicBoolean serving = new AtomicBoolean();
    Map<String, Boolean> published = new HashMap<>();
    checker.scheduleWithFixedDelay(
        () -> {
          try {
            Readiness ready = readiness.get();
            Map<String, Boolean> named = services.get();
            boolean now = ready.ready() && named.getOrDefault("", true);
            if (serving.getAndSet(now) != now) {
              ServingStatus status = now ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
              healthManager.setStatus("", status);
              healthManager.setStatus(SERVICE, status);
              LOG.info(
                  "scoring node {}: {}",
                  config.nodeId(),
                  now ? "serving" : "not serving (" + ready.why() + ")");
            }
            Map<String, Boolean> next = new HashMap<>();
            named.forEach(
                (name, up) -> {
                  if (!name.isEmpty()) {
                    next.put(name, up && ready.ready());
                  }
                });
            published.keySet().stream()
                .filter(name -> !next.containsKey(name))
                .forEach(name -> next.put(name, false));
            next.forEach(
                (name, up) -> {
                  if (!up.equals(published.put(name, up))) {
                    healthManager.setStatus(
                        name, up ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
                  }
                });
          } catch (RuntimeException e) {
            // A failing check must not end the schedule; the node must never look healthy because
            // its health stopped updating.
            if (serving.getAndSet(false)) {
              healthManager.setStatus("", ServingStatus.NOT_SERVING);
              healthManager.setStatus(SERVICE, ServingStatus.NOT_SERVING);
            }
            LOG.warn("scoring node {}: health check failed: {}", config.nodeId(), e.toString());
          }
        },
        0,
        200,
        TimeUnit.MILLISECONDS);
    ScoringServer scoring = new ScoringServer(server, requests, shadows, checker, config.host());
    LOG.info("scoring service listening on {} (node {})", scoring.address(), config.nodeId());
    return scoring;
  }

  /**
   * The health service names of what {@code agent} serves: {@code streamscore.v1.Scoring/MODEL}
   * (serving while any alias of the model serves) and {@code streamscore.v1.Scoring/MODEL:ALIAS}
   * (serving while that alias serves some version), for {@link #start}'s {@code services}.
   */
  public static Map<String, Boolean> modelServices(dev.streamscore.modelsync.SyncAgent agent) {
    Map<String, Boolean> out = new HashMap<>();
    for (var status : agent.statuses()) {
      String model = status.target().model();
      boolean up = agent.serves(model, status.target().alias());
      out.put(SERVICE + "/" + model + ":" + status.target().alias(), up);
      out.merge(SERVICE + "/" + model, up, Boolean::logicalOr);
    }
    return out;
  }

  /** {@code host:port}. */
  public String address() {
    return host + ":" + server.getPort();
  }

  @Override
  public void close() {
    health.shutdownNow();
    dev.streamscore.proto.GrpcServers.stop(server, java.time.Duration.ofSeconds(10));
    shadows.shutdown();
    requests.shutdownNow();
    try {
      shadows.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    LOG.info("scoring service stopped");
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** Request counts by method and status code, latency, predictions by version. */
  private static final class Metrics {
    final Counter requests;
    final Histogram latency;
    final Counter predictions;
    final Counter shadowDropped;

    Metrics(PrometheusRegistry registry) {
      requests =
          Counter.builder()
              .name("streamscore_scoring_requests_total")
              .help("Scoring requests by method and gRPC status code.")
              .labelNames("method", "code")
              .register(registry);
      latency =
          Histogram.builder()
              .name("streamscore_scoring_latency_seconds")
              .help("Time from a request's arrival to its answer, in the server.")
              .labelNames("method")
              .classicOnly()
              .classicUpperBounds(
                  0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1)
              .register(registry);
      predictions =
          Counter.builder()
              .name("streamscore_scoring_predictions_total")
              .help("Predictions by model, version and whether they were shadow predictions.")
              .labelNames("model", "version", "shadow")
              .register(registry);
      shadowDropped =
          Counter.builder()
              .name("streamscore_scoring_shadow_dropped_total")
              .help("Shadow scorings dropped because the shadow pool was full.")
              .register(registry);
    }

    // Label lookups build a key per call; the data points a busy node touches on every request
    // are kept here instead.
    private final Map<String, CounterDataPoint> okRequests = new ConcurrentHashMap<>();
    private final Map<String, DistributionDataPoint> latencies = new ConcurrentHashMap<>();
    private final Map<String, CounterDataPoint> predicted = new ConcurrentHashMap<>();

    void done(String method, Status.Code code, double seconds) {
      (code == Status.Code.OK
              ? okRequests.computeIfAbsent(method, m -> requests.labelValues(m, "OK"))
              : requests.labelValues(method, code.name()))
          .inc();
      latencies.computeIfAbsent(method, latency::labelValues).observe(seconds);
    }

    void predicted(Prediction p, boolean shadow) {
      String key = p.getModelName() + "@" + p.getModelVersion() + (shadow ? "/shadow" : "");
      predicted
          .computeIfAbsent(
              key,
              k ->
                  predictions.labelValues(
                      p.getModelName(),
                      Long.toString(p.getModelVersion()),
                      Boolean.toString(shadow)))
          .inc();
    }
  }

  private static final class Service extends ScoringGrpc.ScoringImplBase {
    private final Config config;
    private final Scorer scorer;
    private final PredictionSink log;
    private final Supplier<Readiness> readiness;
    private final Metrics metrics;
    private final Clock clock;
    private final Semaphore inFlight;
    private final AtomicLong ids = new AtomicLong();
    ThreadPoolExecutor shadows;
    ThreadPoolExecutor pool;

    Service(
        Config config,
        Scorer scorer,
        PredictionSink log,
        Supplier<Readiness> readiness,
        Metrics metrics,
        Clock clock) {
      this.config = config;
      this.scorer = scorer;
      this.log = log;
      this.readiness = readiness;
      this.metrics = metrics;
      this.clock = clock;
      this.inFlight = new Semaphore(config.maxInFlight());
    }

    @Override
    public void predict(PredictRequest request, StreamObserver<PredictResponse> response) {
      long began = System.nanoTime();
      PredictResponse answer;
      try {
        if (request.getRequestId().isEmpty()) {
          request =
              request.toBuilder()
                  .setRequestId(config.nodeId() + "-" + ids.incrementAndGet())
                  .build();
        }
        answer = scoreOne(request);
      } catch (ScoringException e) {
        done("Predict", e.code(), began);
        response.onError(e.status().asRuntimeException());
        return;
      }
      done("Predict", Status.Code.OK, began);
      response.onNext(answer);
      response.onCompleted();
    }

    /** Scores and logs one request; throws with the status to answer. */
    private PredictResponse scoreOne(PredictRequest request) {
      admit(1);
      try {
        Scorer.Scored scored = scorer.score(request, clock.millis(), this::shadow);
        logged(scored);
        return scored.response();
      } finally {
        inFlight.release();
      }
    }

    /**
     * Scores and logs a stream's batch in one pass: the answers in order, a failed request's
     * carrying its error.
     */
    private List<Scorer.Outcome> scoreBatch(List<PredictRequest> batch) {
      try {
        admit(batch.size());
      } catch (ScoringException e) {
        return java.util.Collections.nCopies(batch.size(), new Scorer.Outcome(null, e));
      }
      try {
        List<Scorer.Outcome> outcomes = scorer.score(batch, clock.millis(), this::shadow, false);
        for (Scorer.Outcome o : outcomes) {
          if (o.scored() != null) {
            logged(o.scored());
          }
        }
        return outcomes;
      } finally {
        inFlight.release(batch.size());
      }
    }

    /** Takes {@code n} in-flight permits, or throws with the status to answer. */
    private void admit(int n) {
      Deadline deadline = Context.current().getDeadline();
      if (deadline != null && deadline.isExpired()) {
        throw new ScoringException(
            Status.Code.DEADLINE_EXCEEDED, "the deadline passed before scoring began");
      }
      Readiness ready = readiness.get();
      if (!ready.ready()) {
        throw new ScoringException(Status.Code.UNAVAILABLE, ready.why());
      }
      if (!inFlight.tryAcquire(n)) {
        throw new ScoringException(
            Status.Code.RESOURCE_EXHAUSTED,
            "the node is scoring " + config.maxInFlight() + " requests; retry");
      }
    }

    private void logged(Scorer.Scored scored) {
      log.publish(scored.prediction());
      metrics.predicted(scored.prediction(), false);
    }

    private void shadow(Scorer.ShadowTask task) {
      try {
        shadows.execute(
            () -> {
              try {
                scorer
                    .scoreShadow(task)
                    .ifPresent(
                        p -> {
                          log.publish(p);
                          metrics.predicted(p, true);
                        });
              } catch (ScoringException e) {
                LOG.debug("shadow scoring failed: {}", e.getMessage());
              }
            });
      } catch (RejectedExecutionException e) {
        metrics.shadowDropped.inc();
      }
    }

    private void done(String method, Status.Code code, long began) {
      metrics.done(method, code, (System.nanoTime() - began) / 1e9);
    }

    @Override
    public StreamObserver<PredictRequest> predictStream(
        StreamObserver<PredictResponse> responseObserver) {
      ServerCallStreamObserver<PredictResponse> out =
          (ServerCallStreamObserver<PredictResponse>) responseObserver;
      out.disableAutoRequest();
      out.request(config.streamWindow());
      Context context = Context.current();
      return new StreamObserver<>() {
        private final AtomicInteger pending = new AtomicInteger();
        private final AtomicBoolean halfClosed = new AtomicBoolean();
        private final AtomicBoolean finished = new AtomicBoolean();
        private final ConcurrentLinkedQueue<Queued> queue = new ConcurrentLinkedQueue<>();
        private final AtomicBoolean draining = new AtomicBoolean();

        @Override
        public void onNext(PredictRequest request) {
          long began = System.nanoTime();
          pending.incrementAndGet();
          if (request.getRequestId().isEmpty()) {
            reply(
                List.of(
                    new Answer(
                        error(
                            request,
                            Status.Code.INVALID_ARGUMENT,
                            "request_id is required on PredictStream"),
                        Status.Code.INVALID_ARGUMENT,
                        began)));
            return;
          }
          queue.add(new Queued(request, began));
          drainLater();
        }

        /**
         * One drain per stream scores what has queued up as one batch, so under load the batch is
         * whatever arrived while the last one was scored: no waiting to fill a batch.
         */
        private void drainLater() {
          if (queue.isEmpty() || !draining.compareAndSet(false, true)) {
            return;
          }
          try {
            pool.execute(context.wrap(this::drain));
          } catch (RejectedExecutionException e) {
            List<Answer> answers = new ArrayList<>();
            for (Queued q; (q = queue.poll()) != null; ) {
              answers.add(
                  new Answer(
                      error(q.request(), Status.Code.UNAVAILABLE, "the scoring node is stopping"),
                      Status.Code.UNAVAILABLE,
                      q.began()));
            }
            draining.set(false);
            reply(answers);
          }
        }

        private void drain() {
          List<Queued> batch = new ArrayList<>(MAX_BATCH);
          List<PredictRequest> requests = new ArrayList<>(MAX_BATCH);
          for (Queued q; batch.size() < MAX_BATCH && (q = queue.poll()) != null; ) {
            batch.add(q);
            requests.add(q.request());
          }
          try {
            if (!batch.isEmpty()) {
              List<Scorer.Outcome> outcomes = scoreBatch(requests);
              List<Answer> answers = new ArrayList<>(batch.size());
              for (int i = 0; i < batch.size(); i++) {
                Scorer.Outcome o = outcomes.get(i);
                answers.add(
                    o.failure() == null
                        ? new Answer(o.scored().response(), Status.Code.OK, batch.get(i).began())
                        : new Answer(
                            error(requests.get(i), o.failure().code(), o.failure().getMessage()),
                            o.failure().code(),
                            batch.get(i).began()));
              }
              reply(answers);
            }
          } finally {
            draining.set(false);
            drainLater();
          }
        }

        private void reply(List<Answer> answers) {
          for (Answer a : answers) {
            done("PredictStream", a.code(), a.began());
          }
          synchronized (out) {
            if (!finished.get() && !out.isCancelled()) {
              for (Answer a : answers) {
                out.onNext(a.response());
              }
            }
          }
          if (pending.addAndGet(-answers.size()) == 0 && halfClosed.get()) {
            finish();
          } else if (!halfClosed.get()) {
            out.request(answers.size());
          }
        }

        private void finish() {
          synchronized (out) {
            if (finished.compareAndSet(false, true) && !out.isCancelled()) {
              out.onCompleted();
            }
          }
        }

        @Override
        public void onError(Throwable t) {
          finished.set(true); // the client went away; answers still in flight are dropped
        }

        @Override
        public void onCompleted() {
          halfClosed.set(true);
          if (pending.get() == 0) {
            finish();
          }
        }
      };
    }

    private record Queued(PredictRequest request, long began) {}

    private record Answer(PredictResponse response, Status.Code code, long began) {}

    private static PredictResponse error(PredictRequest request, Status.Code code, String message) {
      return PredictResponse.newBuilder()
          .setRequestId(request.getRequestId())
          .setError(Error.newBuilder().setCode(code.value()).setMessage(message))
          .build();
    }
  }
}
