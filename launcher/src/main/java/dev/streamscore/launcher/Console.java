package dev.streamscore.launcher;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.streamscore.ingest.DeadLetterLog;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The web console: static pages from the jar ({@code /}), JSON ({@code /api/overview}, {@code
 * /api/models}, {@code /api/drift?model=}, {@code /api/quality?model=}, {@code /api/runs}, {@code
 * /api/runs/compare?ids=}, {@code /api/dead-letters}, {@code
 * /api/dead-letters/samples?source=&stage=&reason=}; one POST, {@code /api/dead-letters/redrive})
 * and live updates by server-sent events ({@code /api/events}: the overview every second). On
 * 127.0.0.1 only. Requests run on a bounded pool; at most {@link #MAX_STREAMS} event streams at
 * once, more get 503. Close order: stop taking requests, end the event streams, then the pool.
 */
final class Console implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Console.class);
  static final int MAX_STREAMS = 8;
  private static final String REDRIVE = "/api/dead-letters/redrive";
  private static final String ASSETS = "/dev/streamscore/launcher/console/";
  private static final Map<String, String> STATIC =
      Map.of(
          "/", "index.html",
          "/app.js", "app.js",
          "/style.css", "style.css");

  private final HttpServer server;
  private final ExecutorService pool;
  private final ConsoleApi api;
  private final Semaphore streams = new Semaphore(MAX_STREAMS);
  private volatile boolean closed;

  private Console(HttpServer server, ExecutorService pool, ConsoleApi api) {
    this.server = server;
    this.pool = pool;
    this.api = api;
  }

  /** Serves the console on 127.0.0.1:{@code port} (0: any free port). */
  static Console start(int port, ConsoleApi.Sources sources) {
    return start(port, sources, Optional.empty());
  }

  /** Serves the console on 127.0.0.1:{@code port}, over HTTPS when {@code https} is given. */
  static Console start(int port, ConsoleApi.Sources sources, Optional<HttpsConfigurator> https) {
    HttpServer server;
    try {
      InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
      if (https.isPresent()) {
        HttpsServer secure = HttpsServer.create(address, 64);
        secure.setHttpsConfigurator(https.get());
        server = secure;
      } else {
        server = HttpServer.create(address, 64);
      }
    } catch (IOException e) {
      throw new StartupException(
          "cannot serve the console on port " + port + ": " + e.getMessage(), e);
    }
    // As many threads as event streams plus some for pages: a stream holds its thread, and a
    // pool that queued pages behind streams would make a page wait for a stream's next second.
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            MAX_STREAMS + 4,
            MAX_STREAMS + 4,
            30,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(256),
            r -> {
              Thread t = new Thread(r, "console");
              t.setDaemon(true);
              return t;
            });
    pool.allowCoreThreadTimeOut(true);
    Console console = new Console(server, pool, new ConsoleApi(sources));
    server.setExecutor(pool);
    server.createContext("/", console::handle);
    server.start();
    LOG.info("console on {}", console.url());
    return console;
  }

  /** {@code http://127.0.0.1:PORT}, or {@code https://} when it serves HTTPS. */
  String url() {
    return (server instanceof HttpsServer ? "https" : "http")
        + "://127.0.0.1:"
        + server.getAddress().getPort();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      URI uri = exchange.getRequestURI();
      String path = uri.getPath();
      String method = exchange.getRequestMethod();
      boolean post = path.equals(REDRIVE);
      if (!method.equals(post ? "POST" : "GET")) {
        send(exchange, 405, "application/json", error("only " + (post ? "POST" : "GET")));
        return;
      }
      String asset = STATIC.get(path);
      if (asset != null) {
        sendAsset(exchange, asset);
        return;
      }
      try {
        switch (path) {
          case "/api/overview" -> json(exchange, api.overview());
          case "/api/models" -> json(exchange, api.models());
          case "/api/drift" -> json(exchange, api.drift(model(uri)));
          case "/api/quality" -> json(exchange, api.quality(model(uri)));
          case "/api/runs" -> json(exchange, api.runs());
          case "/api/runs/compare" -> json(exchange, api.compareRuns(runIds(uri)));
          case "/api/dead-letters" -> json(exchange, api.deadLetters());
          case "/api/dead-letters/samples" ->
              json(
                  exchange,
                  api.deadLetterSamples(
                      required(uri, "source"), required(uri, "stage"), required(uri, "reason")));
          case REDRIVE -> json(exchange, redrive(exchange, uri));
          case "/api/events" -> events(exchange);
          default -> send(exchange, 404, "application/json", error("no such page: " + path));
        }
      } catch (ConsoleApi.ConsoleException e) {
        send(exchange, e.status, "application/json", error(e.getMessage()));
      } catch (RuntimeException e) {
        // A registry or monitor that fails answers 503 with why; the console itself goes on.
        LOG.debug("console {}: {}", path, e.toString());
        send(
            exchange,
            503,
            "application/json",
            error(e.getMessage() == null ? e.toString() : e.getMessage()));
      }
    }
  }

  /**
   * {@code POST /api/dead-letters/redrive?partition=P&offset=O&mode=as-is|corrected}, the body
   * being the corrected value. Only the console's own page may ask: it must send {@code
   * X-Streamscore-Action: redrive}, which another site's form cannot, and an {@code Origin}, when
   * there is one, must be the console's.
   */
  private Object redrive(HttpExchange exchange, URI uri) throws IOException {
    var headers = exchange.getRequestHeaders();
    if (!"redrive".equals(headers.getFirst("X-Streamscore-Action"))) {
      throw new ConsoleApi.ConsoleException(403, "a redrive needs X-Streamscore-Action: redrive");
    }
    String origin = headers.getFirst("Origin");
    if (origin != null && !origin.equals(url())) {
      throw new ConsoleApi.ConsoleException(403, "a redrive from " + origin + " is not allowed");
    }
    int partition = (int) number(uri, "partition", Integer.MAX_VALUE);
    long offset = number(uri, "offset", Long.MAX_VALUE);
    String mode = required(uri, "mode");
    byte[] body = exchange.getRequestBody().readNBytes(DeadLetterLog.MAX_VALUE_BYTES + 1);
    Optional<byte[]> corrected =
        switch (mode) {
          case "as-is" -> {
            if (body.length > 0) {
              throw new ConsoleApi.ConsoleException(400, "mode as-is takes no body");
            }
            yield Optional.empty();
          }
          case "corrected" -> {
            if (body.length > DeadLetterLog.MAX_VALUE_BYTES) {
              throw new ConsoleApi.ConsoleException(
                  413, "a corrected value is at most " + DeadLetterLog.MAX_VALUE_BYTES + " bytes");
            }
            yield Optional.of(body);
          }
          default ->
              throw new ConsoleApi.ConsoleException(
                  400, "mode must be as-is or corrected, got '" + mode + "'");
        };
    String by = "console " + exchange.getRemoteAddress().getAddress().getHostAddress();
    return api.redrive(partition, offset, corrected, by);
  }

  /** The {@code model} query parameter: required, a model name. */
  private static String model(URI uri) {
    String name = required(uri, "model");
    if (!name.matches("[a-z0-9_-]{1,64}")) {
      throw new ConsoleApi.ConsoleException(400, "model must be a model name, got '" + name + "'");
    }
    return name;
  }

  /** {@code ?ids=run-…,run-…}: two to twenty run ids. */
  private static List<String> runIds(URI uri) {
    List<String> ids = List.of(required(uri, "ids").split(","));
    if (ids.size() < 2 || ids.size() > 20) {
      throw new ConsoleApi.ConsoleException(400, "ids must name 2 to 20 runs, got " + ids.size());
    }
    for (String id : ids) {
      if (!id.matches("run-[0-9a-f]{12}")) {
        throw new ConsoleApi.ConsoleException(
            400,
            "ids must be run ids (run- and 12 hex digits), got '"
                + (id.length() <= 40 ? id : id.substring(0, 37) + "...")
                + "'");
      }
    }
    return ids;
  }

  /** A query parameter that must be there. */
  static String required(URI uri, String name) {
    String query = uri.getRawQuery() == null ? "" : uri.getRawQuery();
    for (String part : query.split("&")) {
      if (part.startsWith(name + "=")) {
        try {
          return URLDecoder.decode(part.substring(name.length() + 1), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
          throw new ConsoleApi.ConsoleException(
              400, name + " is not URL-encoded: " + e.getMessage());
        }
      }
    }
    throw new ConsoleApi.ConsoleException(400, name + " is required (?" + name + "=...)");
  }

  /** A required query parameter that is a number from 0 to {@code max}. */
  private static long number(URI uri, String name, long max) {
    String text = required(uri, name);
    try {
      long value = Long.parseLong(text);
      if (value >= 0 && value <= max) {
        return value;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw new ConsoleApi.ConsoleException(
        400, name + " must be a number from 0 to " + max + ", got '" + text + "'");
  }

  /** The overview every second until the browser goes away or the console closes. */
  private void events(HttpExchange exchange) throws IOException {
    if (!streams.tryAcquire()) {
      send(exchange, 503, "application/json", error(MAX_STREAMS + " live pages are open already"));
      return;
    }
    try {
      exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
      exchange.getResponseHeaders().set("Cache-Control", "no-store");
      exchange.sendResponseHeaders(200, 0);
      OutputStream out = exchange.getResponseBody();
      while (!closed) {
        out.write(
            ("event: overview\ndata: " + Json.write(api.overview()) + "\n\n")
                .getBytes(StandardCharsets.UTF_8));
        out.flush();
        TimeUnit.SECONDS.sleep(1); // the update period, not a wait for anything
      }
    } catch (IOException e) {
      // the browser closed the page
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      streams.release();
    }
  }

  private void sendAsset(HttpExchange exchange, String name) throws IOException {
    try (InputStream in = Console.class.getResourceAsStream(ASSETS + name)) {
      if (in == null) {
        send(exchange, 404, "application/json", error("missing asset " + name));
        return;
      }
      String type =
          name.endsWith(".js")
              ? "text/javascript"
              : name.endsWith(".css") ? "text/css" : "text/html";
      send(exchange, 200, type + "; charset=utf-8", in.readAllBytes());
    }
  }

  private static void json(HttpExchange exchange, Object value) throws IOException {
    send(exchange, 200, "application/json", Json.write(value).getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] error(String message) {
    return Json.write(Map.of("error", message)).getBytes(StandardCharsets.UTF_8);
  }

  private static void send(HttpExchange exchange, int status, String type, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    exchange.sendResponseHeaders(status, body.length);
    exchange.getResponseBody().write(body);
  }

  @Override
  public void close() {
    closed = true;
    server.stop(0);
    pool.shutdownNow();
    LOG.info("console stopped");
  }
}
