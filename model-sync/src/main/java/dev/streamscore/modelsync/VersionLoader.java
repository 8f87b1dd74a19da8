package dev.streamscore.modelsync;

import dev.streamscore.etl.FeatureRef;
import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelVersion;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.Optional;

/**
 * Brings one version in for serving: the artifact from the {@link ArtifactCache}, loaded through
 * its format's engine (DJL's ONNX Runtime engine, or xgboost4j), vetted (its inputs against the
 * node's feature views, its input width against its registry entry, warm-up predictions that must
 * be finite and agree in a batch), as a {@link ModelHandle}. Whatever it opened is closed again on
 * every failure path.
 */
final class VersionLoader {
  private final ArtifactCache cache;
  private final Optional<PublicKey> trustedSigner;
  private final FeatureSpec spec;
  private final int warmupRuns;
  private final Runnable loaded;
  private final Runnable closed;

  /**
   * @param loaded runs once per version loaded
   * @param closed runs once per loaded version closed
   */
  VersionLoader(
      ArtifactCache cache,
      Optional<PublicKey> trustedSigner,
      FeatureSpec spec,
      int warmupRuns,
      Runnable loaded,
      Runnable closed) {
    this.cache = cache;
    this.trustedSigner = trustedSigner;
    this.spec = spec;
    this.warmupRuns = warmupRuns;
    this.loaded = loaded;
    this.closed = closed;
  }

  /**
   * Check the registry's signature (when this node trusts a key), download (unless cached), verify
   * the artifact's sha256, load, validate, warm up.
   */
  ModelHandle load(ModelVersion meta) {
    String name = meta.getName() + " v" + meta.getVersion();
    if (trustedSigner.isPresent()) {
      Optional<String> refused = ModelSigning.verifyFailure(meta, trustedSigner.get());
      if (refused.isPresent()) {
        throw new ModelLoadException(name + " is refused: " + refused.get());
      }
    }
    ModelFormat format = meta.getSpec().getFormat();
    if (format != ModelFormat.MODEL_FORMAT_ONNX
        && format != ModelFormat.MODEL_FORMAT_XGBOOST_JSON) {
      throw new ModelLoadException(
          name + " is " + format + "; this node runs ONNX and XGBoost JSON models only");
    }
    checkInputsAgainstViews(meta);
    Path file = cache.fetch(meta);
    ServedModel model;
    try {
      model = ServedModel.load(format, file);
    } catch (ModelLoadException e) {
      throw new ModelLoadException(name + ": " + e.getMessage(), e);
    }
    try {
      int declared = meta.getSpec().getInputsCount();
      if (model.inputWidth() > 0 && model.inputWidth() != declared) {
        throw new ModelLoadException(
            name
                + ": the model takes "
                + model.inputWidth()
                + " inputs but its registry entry declares "
                + declared);
      }
      warmUp(meta, model);
    } catch (RuntimeException e) {
      model.close();
      throw e instanceof ModelLoadException
          ? e
          : new ModelLoadException(name + ": " + e.getMessage(), e);
    }
    loaded.run();
    return new ModelHandle(meta, model, closed);
  }

  private void checkInputsAgainstViews(ModelVersion meta) {
    for (ModelInput in : meta.getSpec().getInputsList()) {
      try {
        // A name without a colon is a request-time feature.
        FeatureRef.of(in.getName()).ifPresent(ref -> ref.definitionIn(spec.views()));
      } catch (IllegalArgumentException e) {
        throw new ModelLoadException(
            meta.getName() + " v" + meta.getVersion() + ": input " + e.getMessage());
      }
    }
  }

  private void warmUp(ModelVersion meta, ServedModel model) {
    float[] input = new float[meta.getSpec().getInputsCount()];
    for (int i = 0; i < input.length; i++) {
      input[i] = (float) meta.getSpec().getInputs(i).getDefaultValue();
    }
    for (int run = 0; run < warmupRuns; run++) {
      float[] out;
      try {
        out = model.predict(input);
      } catch (PredictionException e) {
        throw new ModelLoadException(
            meta.getName() + " v" + meta.getVersion() + " failed its warm-up: " + e.getMessage(),
            e);
      }
      if (out.length != meta.getSpec().getOutputsCount()) {
        throw new ModelLoadException(
            meta.getName()
                + " v"
                + meta.getVersion()
                + " returned "
                + out.length
                + " values in warm-up; its registry entry declares "
                + meta.getSpec().getOutputsCount()
                + " outputs");
      }
      for (float f : out) {
        if (!Float.isFinite(f)) {
          throw new ModelLoadException(
              meta.getName() + " v" + meta.getVersion() + " returned " + f + " in warm-up");
        }
      }
    }
    warmUpBatched(meta, model, input);
  }

  /** Batched scoring (stream replies) must give what one-at-a-time scoring gives. */
  private static void warmUpBatched(ModelVersion meta, ServedModel model, float[] input) {
    float[] single = model.predict(input);
    float[][] batch;
    try {
      batch = model.predictBatch(new float[][] {input, input, input});
    } catch (PredictionException e) {
      throw new ModelLoadException(
          meta.getName()
              + " v"
              + meta.getVersion()
              + " fails on a batch of 3 vectors though its batch dimension is open: "
              + e.getMessage(),
          e);
    }
    for (float[] row : batch) {
      if (!close(row, single)) {
        throw new ModelLoadException(
            meta.getName()
                + " v"
                + meta.getVersion()
                + " scores a vector differently in a batch: "
                + java.util.Arrays.toString(row)
                + " vs "
                + java.util.Arrays.toString(single));
      }
    }
  }

  /** Equal but for float rounding: a batch may run another kernel than one vector does. */
  private static boolean close(float[] a, float[] b) {
    if (a.length != b.length) {
      return false;
    }
    for (int i = 0; i < a.length; i++) {
      if (Math.abs(a[i] - b[i]) > 1e-6f + 1e-5f * Math.abs(b[i])) {
        return false;
      }
    }
    return true;
  }
}
