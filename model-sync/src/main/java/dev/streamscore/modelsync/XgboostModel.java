package dev.streamscore.modelsync;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.XGBoost;
import ml.dmlc.xgboost4j.java.XGBoostError;

/**
 * One XGBoost model in XGBoost's JSON format, loaded through xgboost4j and run by in-place
 * prediction on one OpenMP thread: no {@code DMatrix} per call, and thread-safe without pooling. A
 * missing value is NaN, as in XGBoost itself; serving fills defaults before a model sees a vector.
 *
 * <p>Close order: the booster is the only native object; {@link #close()} frees it.
 */
public final class XgboostModel implements ServedModel {
  private final Booster booster;
  private final int inputWidth;
  private final List<String> featureNames;

  private XgboostModel(Booster booster, int inputWidth, List<String> featureNames) {
    this.booster = booster;
    this.inputWidth = inputWidth;
    this.featureNames = featureNames;
  }

  /**
   * Loads {@code file}.
   *
   * @throws ModelLoadException when the file is not an XGBoost JSON model xgboost4j can load
   */
  public static XgboostModel load(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new ModelLoadException("cannot read " + file + ": " + e.getMessage(), e);
    }
    // xgboost4j guesses the format from the bytes; only JSON is what the registry entry says.
    if (!startsAsJsonObject(bytes)) {
      throw new ModelLoadException("not an XGBoost JSON model: it does not start with '{'");
    }
    XgboostJsonCheck.check(bytes);
    Booster booster;
    try {
      booster = XGBoost.loadModel(bytes);
    } catch (XGBoostError | IOException | RuntimeException e) {
      throw new ModelLoadException("not a loadable XGBoost JSON model: " + engineMessage(e), e);
    }
    try {
      // Prediction for one vector is far too small for threads: they only contend for 2 cores.
      booster.setParam("nthread", 1);
      long width = booster.getNumFeature();
      if (width <= 0 || width > Integer.MAX_VALUE) {
        throw new ModelLoadException("the XGBoost model declares " + width + " features");
      }
      return new XgboostModel(booster, (int) width, featureNames(booster));
    } catch (XGBoostError e) {
      booster.dispose();
      throw new ModelLoadException("not a usable XGBoost model: " + engineMessage(e), e);
    } catch (RuntimeException e) {
      booster.dispose();
      throw e;
    }
  }

  /** xgboost4j gives null, or an array of nulls, for a model trained without names. */
  private static List<String> featureNames(Booster booster) throws XGBoostError {
    String[] names = booster.getFeatureNames();
    if (names == null || java.util.Arrays.stream(names).anyMatch(n -> n == null || n.isEmpty())) {
      return List.of();
    }
    return List.of(names);
  }

  private static boolean startsAsJsonObject(byte[] bytes) {
    for (byte b : bytes) {
      if (b == '{') {
        return true;
      }
      if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
        return false;
      }
    }
    return false;
  }

  /** The feature names the model was trained with, in order; empty when it carries none. */
  public List<String> featureNames() {
    return featureNames;
  }

  @Override
  public int inputWidth() {
    return inputWidth;
  }

  @Override
  public float[] predict(float[] input) {
    return run(input, 1)[0];
  }

  @Override
  public float[][] predictBatch(float[][] inputs) {
    if (inputs.length == 1) {
      return new float[][] {predict(inputs[0])};
    }
    float[] flat = new float[inputs.length * inputWidth];
    for (int i = 0; i < inputs.length; i++) {
      if (inputs[i].length != inputWidth) {
        throw new PredictionException(
            "the model failed: row " + i + " has " + inputs[i].length + " values", null);
      }
      System.arraycopy(inputs[i], 0, flat, i * inputWidth, inputWidth);
    }
    return run(flat, inputs.length);
  }

  private float[][] run(float[] flat, int rows) {
    if (flat.length != rows * inputWidth) {
      throw new PredictionException(
          "the model failed: it takes " + inputWidth + " inputs, got " + flat.length / rows, null);
    }
    try {
      return booster.inplace_predict(flat, rows, inputWidth, Float.NaN);
    } catch (XGBoostError | RuntimeException e) {
      throw new PredictionException("the model failed: " + engineMessage(e), e);
    }
  }

  @Override
  public void close() {
    booster.dispose();
  }

  /**
   * XGBoost's first line without its {@code [time] file:line: } prefix; the native stack trace that
   * follows it says nothing to a user.
   */
  static String engineMessage(Throwable e) {
    String message = OnnxModel.rootMessage(e);
    return message.replaceFirst("^\\[[0-9:]+\\] [^ ]+:[0-9]+: ", "");
  }
}
