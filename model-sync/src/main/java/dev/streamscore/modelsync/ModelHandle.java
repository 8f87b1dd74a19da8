package dev.streamscore.modelsync;

import dev.streamscore.proto.v1.ModelVersion;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loaded version and a count of its users. The owner (the sync agent) holds one reference from
 * the start and gives it up with {@link #retire()}; each prediction holds one through a {@link
 * Lease}. The model closes on the last release, never under an in-flight prediction (closing an
 * native engine's model during a call crashes the JVM). Once the count reaches zero it stays there:
 * {@link #tryAcquire()} fails and the caller reads the newer serving set.
 */
final class ModelHandle {
  private final ModelVersion version;
  private final ServedModel model;
  private final AtomicInteger refs = new AtomicInteger(1);
  private final AtomicBoolean retired = new AtomicBoolean();
  private final Runnable onClose;

  ModelHandle(ModelVersion version, ServedModel model, Runnable onClose) {
    this.version = version;
    this.model = model;
    this.onClose = onClose;
  }

  ModelVersion version() {
    return version;
  }

  ServedModel model() {
    return model;
  }

  /** Takes a reference unless the model has closed or is closing. */
  boolean tryAcquire() {
    for (int r = refs.get(); r > 0; r = refs.get()) {
      if (refs.compareAndSet(r, r + 1)) {
        return true;
      }
    }
    return false;
  }

  void release() {
    int left = refs.decrementAndGet();
    if (left == 0) {
      model.close();
      onClose.run();
    } else if (left < 0) {
      throw new IllegalStateException("released more often than acquired: " + describe());
    }
  }

  /** Gives up the owner's reference; the model closes once the last lease is released. */
  void retire() {
    if (retired.compareAndSet(false, true)) {
      release();
    }
  }

  boolean closed() {
    return refs.get() == 0;
  }

  String describe() {
    return version.getName() + " v" + version.getVersion();
  }
}
