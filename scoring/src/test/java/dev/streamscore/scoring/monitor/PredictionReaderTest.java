package dev.streamscore.scoring.monitor;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.streamscore.proto.v1.Freshness;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.Score;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PredictionReaderTest {
  private static void assertReads(PredictionReader r, Prediction p) {
    assertThat(r.requestId).isEqualTo(p.getRequestId());
    assertThat(r.modelName).isEqualTo(p.getModelName());
    assertThat(r.modelVersion).isEqualTo(p.getModelVersion());
    assertThat(r.predictedAtMs).isEqualTo(p.getPredictedAtMs());
    assertThat(r.eventId).isEqualTo(p.getEventId());
    assertThat(Arrays.copyOf(r.scores, r.scoreCount))
        .containsExactly(p.getScoresList().stream().mapToDouble(Score::getValue).toArray());
    assertThat(Arrays.copyOf(r.features, r.featureCount))
        .containsExactly(p.getFeaturesList().stream().mapToDouble(Double::doubleValue).toArray());
    assertThat(Arrays.copyOf(r.defaulted, r.defaultedCount))
        .containsExactly(p.getDefaultedInputsList().stream().mapToInt(Integer::intValue).toArray());
  }

  @Test
  void readsWhatProtobufReadsFromEveryShapeOfPrediction() {
    Random random = new Random(1);
    PredictionReader reader = new PredictionReader();
    for (int n = 0; n < 5_000; n++) {
      Prediction.Builder p =
          Prediction.newBuilder()
              .setRequestId(n % 3 == 0 ? "" : "r" + random.nextLong())
              .setModelName(n % 50 == 0 ? "" : "fraud-ü" + n % 3)
              .setModelVersion(n % 7 == 0 ? Long.MAX_VALUE : random.nextInt(5))
              .setPredictedAtMs(n % 11 == 0 ? Long.MIN_VALUE : random.nextLong())
              .setEventId(n % 2 == 0 ? "" : "e" + n)
              .putEntityIds("user_id", "u" + n)
              .putFeatureTimeMs("user_txn:x", n)
              .setFreshness(Freshness.newBuilder().setBehindMs(n))
              .setShadow(n % 5 == 0);
      for (int i = 0; i < random.nextInt(4); i++) {
        p.addScores(Score.newBuilder().setName("p" + i).setValue(random.nextGaussian()));
      }
      for (int i = 0; i < random.nextInt(70); i++) {
        p.addFeatures(i % 13 == 0 ? Double.NaN : random.nextGaussian() * 1e300);
      }
      for (int i = 0; i < random.nextInt(12); i++) {
        p.addDefaultedInputs(random.nextInt() % 100);
      }
      Prediction built = p.build();
      assertThat(reader.read(built.toByteArray())).isTrue();
      assertReads(reader, built);
    }
  }

  @Test
  void readsUnpackedRepeatedFieldsAsProtobufDoes() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    out.writeString(Prediction.MODEL_NAME_FIELD_NUMBER, "m");
    out.writeDouble(Prediction.FEATURES_FIELD_NUMBER, 1.5); // unpacked, as older writers may
    out.writeDouble(Prediction.FEATURES_FIELD_NUMBER, -2);
    out.writeInt32(Prediction.DEFAULTED_INPUTS_FIELD_NUMBER, 3);
    out.flush();
    PredictionReader reader = new PredictionReader();
    assertThat(reader.read(bytes.toByteArray())).isTrue();
    assertReads(reader, Prediction.parseFrom(bytes.toByteArray()));
  }

  @Test
  void randomBytesNeverThrowAndWhatProtobufAcceptsReadsTheSame() {
    Random random = new Random(2);
    PredictionReader reader = new PredictionReader();
    byte[] valid =
        Prediction.newBuilder()
            .setModelName("fraud")
            .setModelVersion(2)
            .addScores(Score.newBuilder().setValue(0.5))
            .addFeatures(1)
            .build()
            .toByteArray();
    for (int n = 0; n < 20_000; n++) {
      byte[] b;
      if (n % 2 == 0) {
        b = new byte[random.nextInt(64)];
        random.nextBytes(b);
      } else {
        b = valid.clone(); // one byte flipped: truncations, wrong tags, bad lengths
        b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
      }
      boolean read = reader.read(b);
      try {
        Prediction p = Prediction.parseFrom(b);
        assertThat(read).as("protobuf accepts %s", Arrays.toString(b)).isTrue();
        assertReads(reader, p);
      } catch (InvalidProtocolBufferException e) {
        // protobuf refuses it; the reader may refuse it too, or accept the fields it reads
      }
    }
  }
}
