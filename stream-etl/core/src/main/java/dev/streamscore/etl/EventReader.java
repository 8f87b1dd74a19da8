package dev.streamscore.etl;

import com.google.protobuf.CodedInputStream;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.Value;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the parts of an {@link Event}'s bytes the processor needs, without building the event and
 * its map of fields: in the Flink job that parse was a quarter of the keyed operator's time. Only
 * the shape every writer of {@code events.<source>} produces is read here (the event's own fields,
 * map entries of one key and one value, values of one of the five kinds); for anything else,
 * malformed bytes included, {@link #read} declines and the caller parses with {@link
 * Event#parseFrom(byte[])}, so every record gets the outcome, and the error message, protobuf gives
 * it. On what it reads, it reads as protobuf does: strings checked as UTF-8, the last of repeated
 * fields and of map entries with one key winning.
 *
 * <p>Not thread-safe, and reused: one per task, each read replacing the last.
 */
final class EventReader implements EventView {
  // Event's tags (field number << 3 | wire type) and Value's.
  private static final int SOURCE = 10;
  private static final int ENTITY_ID = 18;
  private static final int EVENT_ID = 26;
  private static final int EVENT_TIME = 32;
  private static final int FIELD = 42;
  private static final int INGEST_TIME = 48;
  private static final int RAW_TOPIC = 58;
  private static final int RAW_PARTITION = 64;
  private static final int RAW_OFFSET = 72;
  private static final int ENTRY_KEY = 10;
  private static final int ENTRY_VALUE = 18;
  private static final int DOUBLE = 9;
  private static final int LONG = 16;
  private static final int STRING = 26;
  private static final int BOOL = 32;
  private static final int TIMESTAMP = 40;

  private final Map<String, Integer> index = new HashMap<>();
  private final Value[] values;
  private String entityId = "";
  private String eventId = "";
  private long eventTimeMs;

  /**
   * @param fields the payload fields' names, in the cleanser's order
   */
  EventReader(List<String> fields) {
    for (int i = 0; i < fields.size(); i++) {
      index.put(fields.get(i), i);
    }
    values = new Value[fields.size()];
  }

  /**
   * Reads an event's bytes.
   *
   * @return false when these bytes are not of the shape read here: parse them with protobuf
   */
  boolean read(byte[] bytes) {
    Arrays.fill(values, null);
    entityId = "";
    eventId = "";
    eventTimeMs = 0;
    CodedInputStream in = CodedInputStream.newInstance(bytes);
    try {
      while (true) {
        switch (in.readTag()) {
          case 0 -> {
            return true;
          }
          case SOURCE, RAW_TOPIC -> in.readStringRequireUtf8();
          case ENTITY_ID -> entityId = in.readStringRequireUtf8();
          case EVENT_ID -> eventId = in.readStringRequireUtf8();
          case EVENT_TIME -> eventTimeMs = in.readInt64();
          case INGEST_TIME, RAW_OFFSET -> in.readInt64();
          case RAW_PARTITION -> in.readInt32();
          case FIELD -> {
            if (!readEntry(in)) {
              return false;
            }
          }
          default -> {
            return false;
          }
        }
      }
    } catch (IOException e) {
      return false; // malformed: protobuf's parser says how
    }
  }

  private boolean readEntry(CodedInputStream in) throws IOException {
    int limit = in.pushLimit(in.readRawVarint32());
    String key = "";
    Value value = Value.getDefaultInstance();
    boolean sawKey = false;
    boolean sawValue = false;
    for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
      if (tag == ENTRY_KEY && !sawKey) {
        key = in.readStringRequireUtf8();
        sawKey = true;
      } else if (tag == ENTRY_VALUE && !sawValue) {
        value = readValue(in);
        if (value == null) {
          return false;
        }
        sawValue = true;
      } else {
        return false;
      }
    }
    in.popLimit(limit);
    Integer i = index.get(key);
    if (i != null) {
      values[i] = value;
    }
    return true;
  }

  /** A value of one kind (the last, as for a oneof), or null for any other shape. */
  private static Value readValue(CodedInputStream in) throws IOException {
    int limit = in.pushLimit(in.readRawVarint32());
    Value.Builder v = Value.newBuilder();
    for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
      switch (tag) {
        case DOUBLE -> v.setDoubleValue(in.readDouble());
        case LONG -> v.setLongValue(in.readInt64());
        case STRING -> v.setStringValue(in.readStringRequireUtf8());
        case BOOL -> v.setBoolValue(in.readBool());
        case TIMESTAMP -> v.setTimestampMs(in.readInt64());
        default -> {
          return null;
        }
      }
    }
    in.popLimit(limit);
    return v.build();
  }

  @Override
  public String entityId() {
    return entityId;
  }

  @Override
  public String eventId() {
    return eventId;
  }

  @Override
  public long eventTimeMs() {
    return eventTimeMs;
  }

  @Override
  public Value field(int index, String name) {
    return values[index];
  }
}
