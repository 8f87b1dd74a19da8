package dev.streamscore.modelsync;

import com.google.protobuf.ByteString;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.RecordRunRequest;
import dev.streamscore.proto.v1.RegisterHeader;
import dev.streamscore.proto.v1.RegisterRequest;
import dev.streamscore.proto.v1.TrainingRun;
import java.io.IOException;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The two upload calls' {@link ArtifactUpload.Protocol}s: a version, and a training run. */
final class Uploads {
  private static final Logger LOG = LoggerFactory.getLogger(Uploads.class);

  private Uploads() {}

  /** {@code Register}: a version's spec, optionally its size and sha256, then its artifact. */
  static ArtifactUpload.Protocol<RegisterRequest, RegisterHeader, ModelVersion> register(
      Registry registry) {
    return new ArtifactUpload.Protocol<>() {
      @Override
      public String rpc() {
        return "Register";
      }

      @Override
      public RegisterHeader header(RegisterRequest request) {
        return request.hasHeader() ? request.getHeader() : null;
      }

      @Override
      public ByteString chunk(RegisterRequest request) {
        return request.getChunk();
      }

      @Override
      public void check(RegisterHeader header) {
        VersionChecks.spec(header.getSpec());
      }

      @Override
      public ModelVersionSpec spec(RegisterHeader header) {
        return header.getSpec();
      }

      @Override
      public long declaredSize(RegisterHeader header) {
        return header.getSizeBytes();
      }

      @Override
      public String expectedSha256(RegisterHeader header) {
        return header.getExpectedSha256();
      }

      @Override
      public ModelVersion store(
          RegisterHeader header, Path staged, String sha256, long size, String by)
          throws IOException {
        ModelVersion v = registry.register(header.getSpec(), staged, sha256, size, by);
        LOG.info(
            "registered {} version {} ({} bytes, sha256 {}) by {}",
            v.getName(),
            v.getVersion(),
            size,
            sha256.substring(0, 12),
            by);
        return v;
      }
    };
  }

  /** {@code RecordRun}: a training run, then its best model's artifact. */
  static ArtifactUpload.Protocol<RecordRunRequest, TrainingRun, TrainingRun> recordRun(
      Registry registry) {
    return new ArtifactUpload.Protocol<>() {
      @Override
      public String rpc() {
        return "RecordRun";
      }

      @Override
      public TrainingRun header(RecordRunRequest request) {
        return request.hasRun() ? request.getRun() : null;
      }

      @Override
      public ByteString chunk(RecordRunRequest request) {
        return request.getChunk();
      }

      @Override
      public void check(TrainingRun run) {
        VersionChecks.run(run);
      }

      @Override
      public ModelVersionSpec spec(TrainingRun run) {
        return run.getSpec();
      }

      @Override
      public long declaredSize(TrainingRun run) {
        return run.getSizeBytes();
      }

      @Override
      public String expectedSha256(TrainingRun run) {
        return run.getSha256();
      }

      @Override
      public TrainingRun store(TrainingRun run, Path staged, String sha256, long size, String by)
          throws IOException {
        TrainingRun recorded = registry.recordRun(run, staged, sha256, size, by);
        LOG.info(
            "recorded run {} of {} ({}, {} trials) by {}",
            recorded.getId(),
            recorded.getModel(),
            recorded.getAlgorithm(),
            recorded.getTrialsCount(),
            by);
        return recorded;
      }
    };
  }
}
