package dev.streamscore.proto.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Objects;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An access policy file, read again when it changes: a call at most once per second looks at the
 * file's modification time. A changed file that does not parse is logged once and the policy before
 * it stays, so a typo never opens or closes the platform.
 */
public final class PolicyFile implements Supplier<AccessPolicy> {
  private static final Logger log = LoggerFactory.getLogger(PolicyFile.class);
  private static final long CHECK_NANOS = 1_000_000_000L;

  private final Path file;
  private final LongSupplier nanoTime;
  private volatile AccessPolicy policy;
  private volatile FileTime loaded;
  private volatile long checkedAt;
  private FileTime rejected;

  /**
   * Reads {@code file} now.
   *
   * @throws IllegalArgumentException saying what is wrong with it
   * @throws UncheckedIOException when it cannot be read
   */
  public PolicyFile(Path file) {
    this(file, System::nanoTime);
  }

  PolicyFile(Path file, LongSupplier nanoTime) {
    this.file = Objects.requireNonNull(file, "file");
    this.nanoTime = nanoTime;
    this.loaded = modified();
    this.policy = AccessPolicy.load(file);
    this.checkedAt = nanoTime.getAsLong();
  }

  @Override
  public AccessPolicy get() {
    long now = nanoTime.getAsLong();
    if (now - checkedAt >= CHECK_NANOS) {
      reloadIfChanged(now);
    }
    return policy;
  }

  private synchronized void reloadIfChanged(long now) {
    if (now - checkedAt < CHECK_NANOS) {
      return;
    }
    checkedAt = now;
    FileTime modified;
    try {
      modified = modified();
    } catch (UncheckedIOException e) {
      return;
    }
    if (modified.equals(loaded) || modified.equals(rejected)) {
      return;
    }
    try {
      policy = AccessPolicy.load(file);
      loaded = modified;
      log.info("access policy {} reloaded", file);
    } catch (RuntimeException e) {
      rejected = modified;
      log.warn(
          "access policy {} changed but is not valid; keeping the one before: {}",
          file,
          e.getMessage());
    }
  }

  private FileTime modified() {
    try {
      return Files.getLastModifiedTime(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read access policy " + file + ": " + e, e);
    }
  }
}
