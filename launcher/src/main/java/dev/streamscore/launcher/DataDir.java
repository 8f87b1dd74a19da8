package dev.streamscore.launcher;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The platform's state directory, locked for the life of the process so that two platforms never
 * share one. Each component keeps its state in its own subdirectory ({@link #resolve}). A temporary
 * directory is deleted on close.
 */
final class DataDir implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DataDir.class);

  private final Path root;
  private final boolean temporary;
  private final FileChannel lockChannel;
  private final FileLock lock;

  private DataDir(Path root, boolean temporary, FileChannel lockChannel, FileLock lock) {
    this.root = root;
    this.temporary = temporary;
    this.lockChannel = lockChannel;
    this.lock = lock;
  }

  static DataDir open(Optional<Path> requested) {
    Path root;
    try {
      root =
          requested.isPresent()
              ? Files.createDirectories(requested.get().toAbsolutePath())
              : Files.createTempDirectory("streamscore-");
    } catch (IOException e) {
      throw new StartupException(
          "cannot create data directory " + requested.orElse(null) + ": " + e.getMessage(), e);
    }
    FileChannel channel = null;
    try {
      channel =
          FileChannel.open(
              root.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock = channel.tryLock();
      if (lock == null) {
        channel.close();
        throw new StartupException(
            "data directory " + root + " is in use by another streamscore process");
      }
      return new DataDir(root, requested.isEmpty(), channel, lock);
    } catch (OverlappingFileLockException e) {
      closeQuietly(channel);
      throw new StartupException(
          "data directory " + root + " is already in use by this process", e);
    } catch (IOException e) {
      closeQuietly(channel);
      throw new StartupException("cannot lock data directory " + root + ": " + e.getMessage(), e);
    }
  }

  Path root() {
    return root;
  }

  boolean temporary() {
    return temporary;
  }

  Path resolve(String component) {
    return root.resolve(component);
  }

  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException e) {
      LOG.warn("could not release the lock on {}: {}", root, e.toString());
    }
    closeQuietly(lockChannel);
    if (temporary) {
      deleteRecursively(root);
    }
  }

  private static void closeQuietly(FileChannel channel) {
    if (channel == null) {
      return;
    }
    try {
      channel.close();
    } catch (IOException e) {
      LOG.debug("closing lock file failed", e);
    }
  }

  private static void deleteRecursively(Path dir) {
    try {
      Utils.delete(dir.toFile());
    } catch (IOException e) {
      LOG.warn("could not delete temporary data directory {}: {}", dir, e.toString());
    }
  }
}
