package dev.streamscore.launcher;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Ctrl-C (SIGINT) and SIGTERM as a request to stop at the next safe point, instead of the JVM's
 * shutdown: shutdown hooks run while the work goes on, and the model runtime's own hooks close it
 * under a training still using it (the process once aborted with SIGABRT there). A second signal is
 * handled as before: the JVM shuts down at once. Closing puts the previous handlers back.
 */
final class CooperativeStop implements AutoCloseable {
  private final AtomicBoolean requested = new AtomicBoolean();
  private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();

  /**
   * Installs the handlers.
   *
   * @param say told once, at the first signal, what happens next
   */
  static CooperativeStop install(Consumer<String> say) {
    CooperativeStop stop = new CooperativeStop();
    for (String name : new String[] {"INT", "TERM"}) {
      Signal signal = new Signal(name);
      try {
        stop.previous.put(
            signal,
            Signal.handle(
                signal,
                s -> {
                  if (stop.requested.compareAndSet(false, true)) {
                    say.accept(
                        "stopping after the current training; SIG" + name + " again stops at once");
                  } else {
                    stop.previous.get(s).handle(s);
                  }
                }));
      } catch (IllegalArgumentException e) {
        // The JVM keeps this signal (-Xrs, or a platform without it): it stops the process as ever.
      }
    }
    return stop;
  }

  /** Whether a stop was asked for. */
  boolean requested() {
    return requested.get();
  }

  @Override
  public void close() {
    previous.forEach(Signal::handle);
  }
}
