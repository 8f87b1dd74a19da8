package dev.streamscore.scoring.monitor;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import dev.streamscore.proto.v1.Prediction;
import java.io.IOException;
import java.util.Arrays;

/**
 * Reads the fields of a {@code Prediction}'s bytes that the monitor uses — ids, model, version,
 * time, scores, input vector, defaulted inputs — into reused arrays, skipping the rest (its maps
 * above all, whose parsing cost more than everything the monitor does with a prediction). Field
 * numbers are {@link Prediction}'s; a record protobuf cannot parse is refused as it would be. One
 * reader per thread.
 */
final class PredictionReader {
  String requestId;
  String modelName;
  long modelVersion;
  long predictedAtMs;
  String eventId;
  double[] scores = new double[4];
  int scoreCount;
  double[] features = new double[32];
  int featureCount;
  int[] defaulted = new int[8];
  int defaultedCount;

  /** Reads {@code bytes}; false when they are not a well-formed Prediction. */
  boolean read(byte[] bytes) {
    requestId = "";
    modelName = "";
    eventId = "";
    modelVersion = 0;
    predictedAtMs = 0;
    scoreCount = 0;
    featureCount = 0;
    defaultedCount = 0;
    try {
      CodedInputStream in = CodedInputStream.newInstance(bytes);
      while (true) {
        int tag = in.readTag();
        if (tag == 0) {
          return true;
        }
        switch (tag) {
          case (Prediction.REQUEST_ID_FIELD_NUMBER << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED ->
              requestId = in.readStringRequireUtf8();
          case (Prediction.MODEL_NAME_FIELD_NUMBER << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED ->
              modelName = in.readStringRequireUtf8();
          case (Prediction.MODEL_VERSION_FIELD_NUMBER << 3) | WireFormat.WIRETYPE_VARINT ->
              modelVersion = in.readInt64();
          case (Prediction.PREDICTED_AT_MS_FIELD_NUMBER << 3) | WireFormat.WIRETYPE_VARINT ->
              predictedAtMs = in.readInt64();
          case (Prediction.EVENT_ID_FIELD_NUMBER << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED ->
              eventId = in.readStringRequireUtf8();
          case (Prediction.SCORES_FIELD_NUMBER << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED ->
              score(in);
          case (Prediction.FEATURES_FIELD_NUMBER << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED -> {
            int limit = in.pushLimit(in.readRawVarint32());
            while (in.getBytesUntilLimit() > 0) {
              feature(in.readDouble());
            }
            in.popLimit(limit);
          }
          case (Prediction.FEATURES_FIELD_NUMBER << 3) | WireFormat.WIRETYPE_FIXED64 ->
              feature(in.readDouble());
          case (Prediction.DEFAULTED_INPUTS_FIELD_NUMBER << 3)
                  | WireFormat.WIRETYPE_LENGTH_DELIMITED -> {
            int limit = in.pushLimit(in.readRawVarint32());
            while (in.getBytesUntilLimit() > 0) {
              defaulted(in.readInt32());
            }
            in.popLimit(limit);
          }
          case (Prediction.DEFAULTED_INPUTS_FIELD_NUMBER << 3) | WireFormat.WIRETYPE_VARINT ->
              defaulted(in.readInt32());
          default -> {
            if (!in.skipField(tag)) {
              return true; // an end-group tag: protobuf would stop here as well
            }
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private void score(CodedInputStream in) throws IOException {
    int limit = in.pushLimit(in.readRawVarint32());
    double value = 0;
    while (true) {
      int tag = in.readTag();
      if (tag == 0) {
        break;
      }
      if (tag == ((2 << 3) | WireFormat.WIRETYPE_FIXED64)) { // Score.value
        value = in.readDouble();
      } else if (!in.skipField(tag)) {
        break;
      }
    }
    in.popLimit(limit);
    if (scoreCount == scores.length) {
      scores = Arrays.copyOf(scores, scoreCount * 2);
    }
    scores[scoreCount++] = value;
  }

  private void feature(double v) {
    if (featureCount == features.length) {
      features = Arrays.copyOf(features, featureCount * 2);
    }
    features[featureCount++] = v;
  }

  private void defaulted(int i) {
    if (defaultedCount == defaulted.length) {
      defaulted = Arrays.copyOf(defaulted, defaultedCount * 2);
    }
    defaulted[defaultedCount++] = i;
  }
}
