package dev.streamscore.proto;

import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The parts an assembly (the platform, a node) started, closed in reverse start order: whatever
 * depends on a part stops before it. A part that fails to stop is logged in one line and does not
 * keep the others running. Thread-safe; closing twice closes once.
 */
public final class Resources implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Resources.class);

  private record Part(String name, AutoCloseable resource) {}

  private final Deque<Part> parts = new ArrayDeque<>();

  /** Adds a started part, named for the log; returns it. */
  public synchronized <T extends AutoCloseable> T add(String name, T resource) {
    parts.push(new Part(name, resource));
    return resource;
  }

  @Override
  public void close() {
    for (Part part = pop(); part != null; part = pop()) {
      try {
        part.resource().close();
      } catch (Exception e) {
        LOG.warn("stopping the {} failed: {}", part.name(), e.toString());
      }
    }
  }

  private synchronized Part pop() {
    return parts.poll();
  }
}
