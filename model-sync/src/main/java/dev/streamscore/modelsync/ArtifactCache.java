package dev.streamscore.modelsync;

import dev.streamscore.proto.v1.ArtifactChunk;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Iterator;

/**
 * A node's downloaded artifacts, by sha256: {@code <dir>/<sha256>.onnx} (or {@code .json} for
 * XGBoost). A version's artifact is downloaded from the registry in chunks to a part file, hashed
 * on the way, checked against the registry's metadata and moved into place whole; a cached copy is
 * used again only if it still hashes right.
 */
final class ArtifactCache {
  private static final Duration DOWNLOAD_TIMEOUT = Duration.ofMinutes(5);

  private final Path dir;
  private final RegistryClient registry;

  ArtifactCache(Path dir, RegistryClient registry) {
    this.dir = dir;
    this.registry = registry;
  }

  /** The verified artifact in the cache, downloading it first unless a verified copy is there. */
  Path fetch(ModelVersion meta) {
    String extension =
        meta.getSpec().getFormat() == ModelFormat.MODEL_FORMAT_XGBOOST_JSON ? ".json" : ".onnx";
    Path file = dir.resolve(meta.getSha256() + extension);
    try {
      if (Files.exists(file) && sha256(file).equals(meta.getSha256())) {
        return file;
      }
      Path part = Files.createTempFile(dir, meta.getSha256(), ".part");
      try {
        MessageDigest digest = RegistryServer.sha256();
        long expectedOffset = 0;
        try (OutputStream out = Files.newOutputStream(part)) {
          Iterator<ArtifactChunk> chunks =
              registry.within(DOWNLOAD_TIMEOUT).download(meta.getName(), meta.getVersion());
          while (chunks.hasNext()) {
            ArtifactChunk c = chunks.next();
            if (c.getOffset() != expectedOffset) {
              throw new ModelLoadException(
                  "the download of "
                      + meta.getName()
                      + " v"
                      + meta.getVersion()
                      + " skipped from offset "
                      + expectedOffset
                      + " to "
                      + c.getOffset());
            }
            c.getData().writeTo(out);
            digest.update(c.getData().asReadOnlyByteBuffer());
            expectedOffset += c.getData().size();
          }
        }
        String actual = HexFormat.of().formatHex(digest.digest());
        if (!actual.equals(meta.getSha256())) {
          throw new ModelLoadException(
              meta.getName()
                  + " v"
                  + meta.getVersion()
                  + ": sha256 mismatch: the registry says "
                  + meta.getSha256()
                  + ", the "
                  + expectedOffset
                  + " bytes downloaded hash to "
                  + actual);
        }
        Files.move(part, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return file;
      } finally {
        Files.deleteIfExists(part);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot store " + meta.getName() + " v" + meta.getVersion() + " in " + dir, e);
    }
  }

  private static String sha256(Path file) throws IOException {
    MessageDigest digest = RegistryServer.sha256();
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[64 * 1024];
      for (int n; (n = in.read(buf)) > 0; ) {
        digest.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(digest.digest());
  }
}
