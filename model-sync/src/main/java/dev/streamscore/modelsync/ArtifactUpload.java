package dev.streamscore.modelsync;

import com.google.protobuf.ByteString;
import dev.streamscore.proto.v1.ModelVersionSpec;
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
 * One upload call ({@code Register}, {@code RecordRun}): a header, then the artifact in chunks,
 * staged to a file while hashed. At the end the size, hash and artifact are checked ({@link
 * VersionChecks#artifact}) and the upload stored by its {@link Protocol}; any failure answers the
 * call with its status and removes the staged file.
 *
 * @param <Q> the call's request message
 * @param <H> its header
 * @param <R> its answer
 */
final class ArtifactUpload<Q, H, R> implements StreamObserver<Q> {
  private static final Logger LOG = LoggerFactory.getLogger(ArtifactUpload.class);

  /** What differs between the upload calls. */
  interface Protocol<Q, H, R> {
    /** The call's name, for errors. */
    String rpc();

    /** The request's header, or null when it carries a chunk. */
    H header(Q request);

    /** The request's chunk. */
    ByteString chunk(Q request);

    /** Checks a header before any byte is staged. */
    void check(H header);

    /** The spec the artifact must load with. */
    ModelVersionSpec spec(H header);

    /** The size the header declares, or 0. */
    long declaredSize(H header);

    /** The sha256 the header expects, or empty. */
    String expectedSha256(H header);

    /** Stores the checked upload; returns the answer. */
    R store(H header, Path staged, String sha256, long size, String by) throws IOException;
  }

  private final Protocol<Q, H, R> protocol;
  private final Registry registry;
  private final String by;
  private final StreamObserver<R> response;
  private H header;
  private Path staged;
  private OutputStream out;
  private MessageDigest digest;
  private long size;
  private boolean failed;

  ArtifactUpload(
      Protocol<Q, H, R> protocol, Registry registry, String by, StreamObserver<R> response) {
    this.protocol = protocol;
    this.registry = registry;
    this.by = by;
    this.response = response;
  }

  @Override
  public void onNext(Q request) {
    if (failed) {
      return;
    }
    try {
      H h = protocol.header(request);
      if (h != null) {
        start(h);
      } else if (header == null) {
        throw RegistryException.invalid(
            "the first message of " + protocol.rpc() + " must be the header");
      } else {
        ByteString chunk = protocol.chunk(request);
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

  private void start(H h) throws IOException {
    if (header != null) {
      throw RegistryException.invalid(protocol.rpc() + " takes one header, then chunks");
    }
    protocol.check(h);
    if (protocol.declaredSize(h) > RegistryServer.MAX_ARTIFACT_BYTES) {
      throw RegistryException.invalid(
          "size_bytes "
              + protocol.declaredSize(h)
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
        throw RegistryException.invalid(
            protocol.rpc() + " needs a header and the artifact's bytes");
      }
      out.close();
      if (size == 0) {
        throw RegistryException.invalid("the artifact is empty");
      }
      long declared = protocol.declaredSize(header);
      if (declared > 0 && declared != size) {
        throw RegistryException.invalid(
            "size_bytes says " + declared + " but " + size + " bytes came");
      }
      String sha = HexFormat.of().formatHex(digest.digest());
      String expected = protocol.expectedSha256(header);
      if (!expected.isEmpty() && !expected.equalsIgnoreCase(sha)) {
        throw RegistryException.invalid(
            "expected_sha256 is " + expected + " but the artifact hashes to " + sha);
      }
      VersionChecks.artifact(protocol.spec(header), staged);
      response.onNext(protocol.store(header, staged, sha, size, by));
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
