package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.streamscore.proto.v1.FeatureRow;
import dev.streamscore.proto.v1.Value;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RowWriterTest {
  private static final FeatureProcessor PROCESSOR =
      FeatureProcessor.of(FeatureSpec.shippedPayments(), "payments", "flink");

  private static Value value(Random random) {
    return switch (random.nextInt(12)) {
      case 0 -> Value.getDefaultInstance();
      case 1 -> Value.newBuilder().setDoubleValue(-0.0).build();
      case 2 -> Value.newBuilder().setDoubleValue(0.0).build();
      case 3 -> Value.newBuilder().setDoubleValue(Double.NaN).build();
      case 4 -> Value.newBuilder().setLongValue(Long.MIN_VALUE).build();
      case 5 -> Value.newBuilder().setLongValue(0).build();
      case 6 -> Value.newBuilder().setBoolValue(random.nextBoolean()).build();
      case 7 -> Value.newBuilder().setTimestampMs(random.nextLong()).build();
      case 8 -> Value.newBuilder().setStringValue("").build();
      case 9 ->
          Value.newBuilder()
              .setStringValue("\u00e9\ud83d\ude00".repeat(random.nextInt(50)))
              .build();
      case 10 ->
          Value.newBuilder()
              .setDoubleValue(Double.MAX_VALUE * (random.nextBoolean() ? 1 : -1))
              .build();
      default -> Value.newBuilder().setDoubleValue(random.nextGaussian() * 1e6).build();
    };
  }

  @Test
  void aRowWrittenStraightFromItsTileEqualsTheBuiltRowByteForByte() {
    Random random = new Random(3);
    for (int trial = 0; trial < 3_000; trial++) {
      ViewPlan view = PROCESSOR.plan(random.nextInt(PROCESSOR.views().size()));
      Tiles tile = Tiles.empty(view);
      for (int events = random.nextInt(30), e = 0; e < events; e++) {
        Value[] row = new Value[PROCESSOR.columns().size()];
        for (int c = 0; c < row.length; c++) {
          row[c] = random.nextInt(4) == 0 ? null : value(random);
        }
        tile.fold(row, random.nextInt(3) == 0 ? 0 : random.nextLong());
      }
      String entity = random.nextInt(10) == 0 ? "" : "u-\u00e9" + random.nextInt();
      long start = random.nextInt(5) == 0 ? 0 : random.nextLong();
      long updated = random.nextInt(5) == 0 ? 0 : random.nextLong();
      SourcePosition position =
          switch (random.nextInt(3)) {
            case 0 -> SourcePosition.UNKNOWN;
            case 1 -> new SourcePosition(0, -1, 0);
            default ->
                new SourcePosition(
                    random.nextInt(Integer.MAX_VALUE), random.nextLong() >>> 1, random.nextLong());
          };

      FeatureRow built = tile.toRow(entity, start, updated, "flink", position);
      byte[] written = RowWriter.write(tile, entity, start, updated, "flink", position);

      assertThat(ByteString.copyFrom(written)).isEqualTo(built.toByteString());
    }
  }
}
