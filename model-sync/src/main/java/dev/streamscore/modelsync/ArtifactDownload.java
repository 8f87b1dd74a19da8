package dev.streamscore.modelsync;

import com.google.protobuf.ByteString;
import dev.streamscore.proto.v1.ArtifactChunk;
import dev.streamscore.proto.v1.DownloadRequest;
import dev.streamscore.proto.v1.ModelRef;
import dev.streamscore.proto.v1.ModelVersion;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code Download} call: the artifact in chunks of the size asked for (256 KiB by default, 1
 * MiB at most), the first carrying the sha256 and size. Sends only while the client keeps up, so a
 * slow reader holds no more than one chunk here; a cancelled call closes the file.
 */
final class ArtifactDownload implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(ArtifactDownload.class);
  static final int DEFAULT_CHUNK = 256 * 1024;
  static final int MAX_CHUNK = 1 << 20;

  private final ServerCallStreamObserver<ArtifactChunk> call;
  private final ModelVersion version;
  private final InputStream in;
  private final int chunkSize;
  private long offset;
  private boolean done;

  private ArtifactDownload(
      ServerCallStreamObserver<ArtifactChunk> call,
      ModelVersion version,
      InputStream in,
      int chunkSize) {
    this.call = call;
    this.version = version;
    this.in = in;
    this.chunkSize = chunkSize;
  }

  /** Answers {@code request} on {@code call}: the chunks, or the status saying why not. */
  static void start(
      Registry registry, DownloadRequest request, ServerCallStreamObserver<ArtifactChunk> call) {
    ModelVersion version;
    InputStream in;
    try {
      if (request.getChunkSize() < 0 || request.getChunkSize() > MAX_CHUNK) {
        throw RegistryException.invalid(
            "chunk_size must be 0 (default) or 1.."
                + MAX_CHUNK
                + ", got "
                + request.getChunkSize());
      }
      version =
          registry.resolve(
              ModelRef.newBuilder()
                  .setName(request.getName())
                  .setVersion(request.getVersion())
                  .build());
      in = Files.newInputStream(registry.artifact(version.getSha256()));
    } catch (RegistryException e) {
      call.onError(RegistryService.status(e).asRuntimeException());
      return;
    } catch (IOException e) {
      call.onError(
          Status.DATA_LOSS
              .withDescription(
                  "the artifact of "
                      + request.getName()
                      + " version "
                      + request.getVersion()
                      + " cannot be read: "
                      + e.getMessage())
              .asRuntimeException());
      return;
    }
    ArtifactDownload download =
        new ArtifactDownload(
            call,
            version,
            in,
            request.getChunkSize() == 0 ? DEFAULT_CHUNK : request.getChunkSize());
    call.setOnCancelHandler(download::closeStream);
    call.setOnReadyHandler(download);
  }

  @Override
  public void run() {
    try {
      while (!done && call.isReady()) {
        byte[] buf = in.readNBytes(chunkSize);
        if (buf.length == 0 && offset > 0) {
          done = true;
          in.close();
          call.onCompleted();
          return;
        }
        ArtifactChunk.Builder chunk =
            ArtifactChunk.newBuilder().setOffset(offset).setData(ByteString.copyFrom(buf));
        if (offset == 0) {
          chunk.setSha256(version.getSha256()).setSizeBytes(version.getSizeBytes());
        }
        offset += buf.length;
        call.onNext(chunk.build());
      }
    } catch (IOException e) {
      done = true;
      closeStream();
      call.onError(
          Status.DATA_LOSS
              .withDescription("reading the artifact failed: " + e)
              .asRuntimeException());
    }
  }

  private void closeStream() {
    try {
      in.close();
    } catch (IOException e) {
      LOG.debug("closing an artifact stream failed", e);
    }
  }
}
