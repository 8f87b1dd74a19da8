package dev.streamscore.benchmarks;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.concurrent.TimeUnit;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.JedisPoolConfig;

/** Debian's {@code redis-server} on a free loopback port, without persistence: the baseline. */
final class RedisServer implements AutoCloseable {
  private final Process process;
  private final int port;

  private RedisServer(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  /** Starts it and returns once it answers PING (within 10 s). */
  static RedisServer start() throws IOException, InterruptedException {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Process process =
        new ProcessBuilder(
                "redis-server",
                "--port",
                Integer.toString(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no")
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try (Jedis jedis = new Jedis("127.0.0.1", port)) {
        jedis.ping();
        return new RedisServer(process, port);
      } catch (RuntimeException e) {
        if (System.nanoTime() > deadline) {
          process.destroy();
          throw e;
        }
        Thread.sleep(50); // redis-server is starting; there is no readiness signal to wait on
      }
    }
  }

  Jedis connect() {
    return new Jedis("127.0.0.1", port);
  }

  JedisPool pool(int connections) {
    JedisPoolConfig config = new JedisPoolConfig();
    config.setMaxTotal(connections);
    return new JedisPool(config, "127.0.0.1", port);
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    process.waitFor(10, TimeUnit.SECONDS);
  }
}
