package dev.streamscore.modelsync;

import com.google.protobuf.ByteString;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.RegisterHeader;
import dev.streamscore.proto.v1.RegisterRequest;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code Register} call, the upload protocol: a header (the version's description, and
 * optionally its size and sha256), then the artifact in chunks, staged to a file while hashed. At
 * the end the size, hash and artifact are checked ({@link VersionChecks#artifact}) and the version
 * registered; any failure answers the call with its status and removes the staged file.
 */
final class RegisterUpload implements StreamObserver<RegisterRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(RegisterUpload.class);

  private final Registry registry;
  private final String by;
  private final StreamObserver<ModelVersion> response;
  private RegisterHeader header;
  private Path staged;
  private OutputStream out;
  private MessageDigest digest;
  private long size;
  private boolean failed;

  RegisterUpload(Registry registry, String by, StreamObserver<ModelVersion> response) {
    this.registry = registry;
    this.by = by;
    this.response = response;
  }

  @Override
  public void onNext(RegisterRequest request) {
    if (failed) {
      return;
    }
    try {
      if (request.hasHeader()) {
        start(request.getHeader());
      } else if (header == null) {
        throw RegistryException.invalid("the first message of Register must be the header");
      } else {
        ByteString chunk = request.getChunk();
        size += chunk.size();
        if (size > RegistryServer.MAX_ARTIFACT_BYTES) {
          throw RegistryException.invalid(
              "the artifact is over the limit of " + RegistryServer.MAX_ARTIFACT_BYTES + " bytes");
        }
        chunk.writeTo(out);
        digest.update(chunk.asReadOnlyByteBuffer());
      }
    } catch (RegistryException e) {
      fail(RegistryService.status(e));
    } catch (IOException e) {
      fail(Status.INTERNAL.withDescription("staging the upload failed: " + e));
    }
  }

  private void start(RegisterHeader h) throws IOException {
    if (header != null) {
      throw RegistryException.invalid("Register takes one header, then chunks");
    }
    VersionChecks.spec(h.getSpec());
    if (h.getSizeBytes() > RegistryServer.MAX_ARTIFACT_BYTES) {
      throw RegistryException.invalid(
          "size_bytes "
              + h.getSizeBytes()
              + " is over the limit of "
              + RegistryServer.MAX_ARTIFACT_BYTES
              + " bytes");
    }
    header = h;
    staged = registry.stagingFile();
    out = Files.newOutputStream(staged);
    digest = RegistryServer.sha256();
  }

  @Override
  public void onError(Throwable t) {
    failed = true;
    cleanUp();
  }

  @Override
  public void onCompleted() {
    if (failed) {
      return;
    }
    try {
      if (header == null) {
        throw RegistryException.invalid("Register needs a header and the artifact's bytes");
      }
      out.close();
      if (size == 0) {
        throw RegistryException.invalid("the artifact is empty");
      }
      if (header.getSizeBytes() > 0 && header.getSizeBytes() != size) {
        throw RegistryException.invalid(
            "size_bytes says " + header.getSizeBytes() + " but " + size + " bytes came");
      }
      String sha = HexFormat.of().formatHex(digest.digest());
      if (!header.getExpectedSha256().isEmpty()
          && !header.getExpectedSha256().equalsIgnoreCase(sha)) {
        throw RegistryException.invalid(
            "expected_sha256 is "
                + header.getExpectedSha256()
                + " but the artifact hashes to "
                + sha);
      }
      VersionChecks.artifact(header.getSpec(), staged);
      ModelVersion v = registry.register(header.getSpec(), staged, sha, size, by);
      LOG.info(
          "registered {} version {} ({} bytes, sha256 {}) by {}",
          v.getName(),
          v.getVersion(),
          size,
          sha.substring(0, 12),
          by);
      response.onNext(v);
      response.onCompleted();
    } catch (RegistryException e) {
      fail(RegistryService.status(e));
    } catch (IOException e) {
      fail(Status.INTERNAL.withDescription("storing the artifact failed: " + e));
    }
  }

  private void fail(Status status) {
    failed = true;
    cleanUp();
    response.onError(status.asRuntimeException());
  }

  private void cleanUp() {
    try {
      if (out != null) {
        out.close();
      }
      if (staged != null) {
        Files.deleteIfExists(staged);
      }
    } catch (IOException e) {
      LOG.warn("could not remove the staged upload {}: {}", staged, e.toString());
    }
  }
}
