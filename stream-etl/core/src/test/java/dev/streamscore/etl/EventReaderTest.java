package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.Value;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class EventReaderTest {
  private static final List<String> FIELDS = List.of("amount", "merchant_id", "country", "");
  private static final String[] KEYS = {"amount", "merchant_id", "country", "", "other", "\u00e9"};

  private static Value value(Random random) {
    return switch (random.nextInt(9)) {
      case 0 -> Value.getDefaultInstance();
      case 1 -> Value.newBuilder().setDoubleValue(-0.0).build();
      case 2 -> Value.newBuilder().setDoubleValue(Double.NaN).build();
      case 3 -> Value.newBuilder().setLongValue(Long.MIN_VALUE).build();
      case 4 -> Value.newBuilder().setBoolValue(random.nextBoolean()).build();
      case 5 -> Value.newBuilder().setTimestampMs(random.nextLong()).build();
      case 6 ->
          Value.newBuilder().setStringValue("\ud83d\ude00x".repeat(random.nextInt(4))).build();
      default -> Value.newBuilder().setDoubleValue(random.nextGaussian() * 1e9).build();
    };
  }

  private static Event event(Random random) {
    Event.Builder e =
        Event.newBuilder()
            .setSource(random.nextBoolean() ? "payments" : "")
            .setEntityId(random.nextInt(8) == 0 ? "" : "u-" + random.nextInt(1000))
            .setEventId(random.nextInt(8) == 0 ? "" : "e\u00e9" + random.nextLong())
            .setEventTimeMs(random.nextInt(4) == 0 ? 0 : random.nextLong())
            .setIngestTimeMs(random.nextLong())
            .setRawTopic(random.nextBoolean() ? "raw.payments" : "")
            .setRawPartition(random.nextInt())
            .setRawOffset(random.nextLong());
    for (int n = random.nextInt(6), i = 0; i < n; i++) {
      e.putFields(KEYS[random.nextInt(KEYS.length)], value(random));
    }
    return e.build();
  }

  /** Bytes an Event serializer would not write but a parser must take: repeats, odd order. */
  private static byte[] oddButValid(Random random) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    for (int n = 1 + random.nextInt(8), i = 0; i < n; i++) {
      switch (random.nextInt(7)) {
        case 0 -> out.writeString(2, "u-" + random.nextInt(3));
        case 1 -> out.writeString(3, "e" + random.nextInt(3));
        case 2 -> out.writeInt64(4, random.nextLong());
        case 3 -> { // a map entry with its value before its key, or either missing
          ByteArrayOutputStream entry = new ByteArrayOutputStream();
          CodedOutputStream e = CodedOutputStream.newInstance(entry);
          if (random.nextBoolean()) {
            e.writeMessage(2, value(random));
          }
          if (random.nextBoolean()) {
            e.writeString(1, KEYS[random.nextInt(KEYS.length)]);
          }
          e.flush();
          out.writeByteArray(5, entry.toByteArray());
        }
        case 4 -> { // a value holding two kinds: the last one wins
          ByteArrayOutputStream v = new ByteArrayOutputStream();
          CodedOutputStream w = CodedOutputStream.newInstance(v);
          w.writeString(3, "s");
          w.writeDouble(1, random.nextDouble());
          w.flush();
          ByteArrayOutputStream entry = new ByteArrayOutputStream();
          CodedOutputStream e = CodedOutputStream.newInstance(entry);
          e.writeString(1, "amount");
          e.writeByteArray(2, v.toByteArray());
          e.flush();
          out.writeByteArray(5, entry.toByteArray());
        }
        case 5 -> out.writeInt64(99, random.nextLong()); // an unknown field
        default -> out.writeBytes(7, ByteString.copyFrom(new byte[] {(byte) 0xC3, 0x28}));
      }
    }
    out.flush();
    return bytes.toByteArray();
  }

  private static byte[] hostile(Random random, byte[] valid) {
    byte[] b;
    switch (random.nextInt(4)) {
      case 0 -> {
        b = new byte[random.nextInt(64)];
        random.nextBytes(b);
      }
      case 1 ->
          b = java.util.Arrays.copyOf(valid, valid.length == 0 ? 0 : random.nextInt(valid.length));
      default -> {
        b = valid.clone();
        for (int flips = 1 + random.nextInt(3), i = 0; i < flips && b.length > 0; i++) {
          b[random.nextInt(b.length)] = (byte) random.nextInt(256);
        }
      }
    }
    return b;
  }

  /**
   * Whatever the reader takes, it reads as protobuf does; whatever protobuf refuses, it declines.
   */
  private static boolean agrees(EventReader reader, byte[] bytes) {
    Event parsed;
    try {
      parsed = Event.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      assertThat(reader.read(bytes)).as("bytes protobuf refuses").isFalse();
      return false;
    }
    if (!reader.read(bytes)) {
      return false;
    }
    assertThat(reader.entityId()).isEqualTo(parsed.getEntityId());
    assertThat(reader.eventId()).isEqualTo(parsed.getEventId());
    assertThat(reader.eventTimeMs()).isEqualTo(parsed.getEventTimeMs());
    for (int i = 0; i < FIELDS.size(); i++) {
      assertThat(reader.field(i, FIELDS.get(i)))
          .as("field %s", FIELDS.get(i))
          .isEqualTo(parsed.getFieldsMap().get(FIELDS.get(i)));
    }
    return true;
  }

  @Test
  void readsEveryEventASerializerWritesAsProtobufDoes() {
    EventReader reader = new EventReader(FIELDS);
    Random random = new Random(11);
    for (int trial = 0; trial < 20_000; trial++) {
      assertThat(agrees(reader, event(random).toByteArray())).isTrue();
    }
  }

  @Test
  void readsRepeatsAndOddOrdersAsProtobufDoesOrLeavesThemToIt() throws IOException {
    EventReader reader = new EventReader(FIELDS);
    Random random = new Random(12);
    int read = 0;
    for (int trial = 0; trial < 20_000; trial++) {
      read += agrees(reader, oddButValid(random)) ? 1 : 0;
    }
    assertThat(read).as("odd but valid events read without protobuf").isGreaterThan(1_000);
  }

  @Test
  void declinesEveryMalformedRecordSoProtobufNamesWhatIsWrong() throws IOException {
    EventReader reader = new EventReader(FIELDS);
    Random random = new Random(13);
    for (int trial = 0; trial < 50_000; trial++) {
      byte[] valid = random.nextBoolean() ? event(random).toByteArray() : oddButValid(random);
      agrees(reader, hostile(random, valid));
    }
    // Invalid UTF-8 in the entity id, a truncated map entry, a group, a length past the end.
    for (byte[] b :
        List.of(
            new byte[] {18, 2, (byte) 0xC3, 0x28},
            new byte[] {42, 5, 10, 1, 'a'},
            new byte[] {43, 44},
            new byte[] {42, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x0F})) {
      agrees(reader, b);
      assertThat(reader.read(b)).isFalse();
    }
  }

  @Test
  void aReadLeavesNothingOfTheEventBeforeIt() {
    EventReader reader = new EventReader(FIELDS);
    assertThat(
            reader.read(
                Event.newBuilder()
                    .setEntityId("u-1")
                    .setEventId("e-1")
                    .setEventTimeMs(5)
                    .putFields("amount", Value.newBuilder().setDoubleValue(1).build())
                    .build()
                    .toByteArray()))
        .isTrue();
    assertThat(reader.read(new byte[0])).isTrue();
    assertThat(reader.entityId()).isEmpty();
    assertThat(reader.eventId()).isEmpty();
    assertThat(reader.eventTimeMs()).isZero();
    assertThat(reader.field(0, "amount")).isNull();
  }
}
