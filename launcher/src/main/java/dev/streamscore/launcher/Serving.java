package dev.streamscore.launcher;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * How a standalone role runs once started: it prints its {@code name: address} lines and {@code
 * ready}, then serves until SIGINT or SIGTERM, when it closes what it started (in the order given)
 * and prints {@code stopped}.
 */
final class Serving {
  private Serving() {}

  /**
   * Prints the addresses and {@code ready}, then blocks until the process is asked to stop.
   *
   * @param addresses {@code name -> address}, printed in iteration order
   * @param closeInOrder closed first to last when the process stops
   */
  static void untilStopped(
      PrintWriter out,
      String role,
      Map<String, String> addresses,
      List<? extends AutoCloseable> closeInOrder)
      throws InterruptedException {
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  out.println("stopping");
                  out.flush();
                  for (AutoCloseable c : closeInOrder) {
                    try {
                      c.close();
                    } catch (Exception e) {
                      out.println("while stopping: " + e.getMessage());
                    }
                  }
                  out.println("stopped");
                  out.flush();
                  stopped.countDown();
                },
                role + "-shutdown"));
    addresses.forEach((name, address) -> out.println(name + ": " + address));
    out.println("ready");
    out.flush();
    stopped.await();
  }
}
