package dev.streamscore.modelsync;

import dev.streamscore.proto.v1.AliasState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last alias state each target served on this node, one small file per target, so that after a
 * restart a broken promotion falls back to what served before. Written atomically (temp file and
 * rename); a missing or unreadable file is simply no fallback.
 */
final class LastGood {
  private static final Logger LOG = LoggerFactory.getLogger(LastGood.class);

  private final Path dir;

  LastGood(Path dir) {
    this.dir = dir;
  }

  void save(ModelAlias target, AliasState state) {
    Path file = file(target);
    try {
      Files.createDirectories(dir);
      Path tmp = Files.createTempFile(dir, "alias", ".tmp");
      Files.write(tmp, state.toByteArray());
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      LOG.warn("{}: cannot record the served policy in {}: {}", target, dir, e.toString());
    }
  }

  Optional<AliasState> load(ModelAlias target) {
    Path file = file(target);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      AliasState state = AliasState.parseFrom(Files.readAllBytes(file));
      return state.getModel().equals(target.model()) && state.getAlias().equals(target.alias())
          ? Optional.of(state)
          : Optional.empty();
    } catch (IOException e) {
      LOG.warn("{}: ignoring the unreadable {}: {}", target, file, e.toString());
      return Optional.empty();
    }
  }

  private Path file(ModelAlias target) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256")
              .digest((target.model() + '\0' + target.alias()).getBytes(StandardCharsets.UTF_8));
      return dir.resolve(HexFormat.of().formatHex(digest, 0, 16) + ".alias");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }
}
