package dev.streamscore.modelsync;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The registry's artifact files, addressed by content: {@code artifacts/sha256/<hex>}. An upload is
 * written to {@code staging/} first and moved into place whole, so a crash never leaves a
 * half-written artifact under its address.
 */
final class ArtifactStore {
  private final Path artifacts;
  private final Path staging;

  ArtifactStore(Path dir) throws IOException {
    this.artifacts = Files.createDirectories(dir.resolve("artifacts/sha256"));
    this.staging = Files.createDirectories(dir.resolve("staging"));
  }

  /** A fresh staging file for an upload. */
  Path stagingFile() throws IOException {
    return Files.createTempFile(staging, "upload-", ".part");
  }

  /** Where the artifact with this hash is stored. */
  Path path(String sha256) {
    return artifacts.resolve(sha256);
  }

  /**
   * Moves a staged upload to its address; when the same bytes are stored already, the staged copy
   * is deleted instead.
   */
  void put(Path staged, String sha256) throws IOException {
    Path target = path(sha256);
    if (Files.exists(target)) {
      Files.delete(staged);
    } else {
      Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
    }
  }
}
