package dev.streamscore.etl;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.RejectReason;
import dev.streamscore.proto.v1.Value;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.Map;

/**
 * Turns a raw JSON record of one source into a valid {@link Event} or a rejection with its reason.
 * The validator, the gRPC gateway and the engines' replay tests all call this one function.
 *
 * <p>Rules: the payload must be one UTF-8 JSON object of at most {@code maxBytes}; undeclared
 * properties are ignored; {@code null} counts as absent; a declared property of the wrong JSON type
 * is WRONG_TYPE, a number outside its bounds (or not finite, or too big for a long) is
 * OUT_OF_RANGE, a required property that is absent is MISSING_FIELD. When a record has several
 * problems, the first in payload order is reported, and missing fields after that.
 *
 * <p>Thread-safe and allocation-light: one instance per source serves every thread.
 */
public final class EventValidator {
  /** Default largest accepted payload: 1 MiB. */
  public static final int DEFAULT_MAX_BYTES = 1 << 20;

  /**
   * The largest event record (key plus {@code Event} bytes) the validator writes: below Kafka's
   * default 1 MiB producer request and broker message limits, so that no accepted event can be
   * refused by Kafka.
   */
  public static final int MAX_EVENT_BYTES = 1_000_000;

  /** The longest entity id or event id accepted, in characters. */
  public static final int MAX_ID_CHARS = 1_024;

  private static final JsonFactory JSON =
      JsonFactory.builder()
          .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
          .build();

  private final SourceSpec source;
  private final Clock clock;
  private final int maxBytes;

  /**
   * @param source the declared source
   * @param clock stamps {@code ingest_time_ms}
   * @param maxBytes larger payloads are rejected as TOO_LARGE
   */
  public EventValidator(SourceSpec source, Clock clock, int maxBytes) {
    if (maxBytes < 2) {
      throw new IllegalArgumentException("maxBytes must be at least 2, got " + maxBytes);
    }
    this.source = source;
    this.clock = clock;
    this.maxBytes = maxBytes;
  }

  public EventValidator(SourceSpec source, Clock clock) {
    this(source, clock, DEFAULT_MAX_BYTES);
  }

  public SourceSpec source() {
    return source;
  }

  /** Validates one record's value bytes as arriving now. Never throws for bad input. */
  public Validation validate(byte[] payload, RecordOrigin origin) {
    return validate(payload, origin, clock.millis());
  }

  /**
   * Validates one record's value bytes. Never throws for bad input.
   *
   * @param arrivalMs when the record arrived (its Kafka timestamp): the source's event-time window
   *     is measured from it
   */
  public Validation validate(byte[] payload, RecordOrigin origin, long arrivalMs) {
    Object parsed = parse(payload);
    if (parsed instanceof Validation.Invalid problem) {
      return problem;
    }
    @SuppressWarnings("unchecked")
    Map<String, Value> values = (Map<String, Value>) parsed;
    Validation.Invalid problem = problem(values, arrivalMs);
    if (problem != null) {
      return problem;
    }
    Event event = build(values, origin);
    Validation.Invalid tooLarge = sizeProblem(event);
    return tooLarge != null ? tooLarge : new Validation.Valid(event);
  }

  /**
   * The outcome of {@link #check}: a valid record's entity id, or why the record is invalid.
   *
   * @param entityId the entity id when valid, else null
   * @param problem why the record is invalid, else null
   */
  public record Check(String entityId, Validation.Invalid problem) {
    public Check {
      if ((entityId == null) == (problem == null)) {
        throw new IllegalArgumentException("exactly one of entityId and problem must be given");
      }
    }

    public boolean valid() {
      return problem == null;
    }
  }

  /**
   * Applies exactly the rules of {@link #validate} without building the {@link Event}: for a
   * gateway that must judge a record and key it but forwards the original bytes. Never throws for
   * bad input.
   */
  public Check check(byte[] payload) {
    Object parsed = parse(payload);
    if (parsed instanceof Validation.Invalid problem) {
      return new Check(null, problem);
    }
    @SuppressWarnings("unchecked")
    Map<String, Value> values = (Map<String, Value>) parsed;
    long now = clock.millis();
    Validation.Invalid problem = problem(values, now);
    if (problem == null && payload.length > MAX_EVENT_BYTES / 2 - 4096) {
      // Only a payload this large can make an event record past the limit (the entity id is
      // both the record's key and a field of the event).
      problem = sizeProblem(build(values, new RecordOrigin(source.rawTopic(), -1, -1)));
    }
    return problem != null
        ? new Check(null, problem)
        : new Check(idOf(values.get(source.keyField())), null);
  }

  /** The declared fields' values, or a {@link Validation.Invalid} saying why not. */
  private Object parse(byte[] payload) {
    if (payload == null || payload.length == 0) {
      return invalid(RejectReason.REJECT_REASON_MALFORMED, "", "payload is empty");
    }
    if (payload.length > maxBytes) {
      return invalid(
          RejectReason.REJECT_REASON_TOO_LARGE,
          "",
          "payload is " + payload.length + " bytes; the limit is " + maxBytes);
    }
    Map<String, Value> values = new HashMap<>();
    try (JsonParser parser = JSON.createParser(payload)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return invalid(RejectReason.REJECT_REASON_MALFORMED, "", "payload is not a JSON object");
      }
      JsonToken token;
      while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        JsonToken valueToken = parser.nextToken();
        FieldSpec field = source.fields().get(name);
        if (field == null) {
          parser.skipChildren();
          continue;
        }
        if (valueToken == JsonToken.VALUE_NULL) {
          values.remove(name);
          continue;
        }
        Object converted = convert(field, valueToken, parser);
        if (converted instanceof Validation.Invalid problem) {
          return problem;
        }
        values.put(name, (Value) converted);
      }
      if (token != JsonToken.END_OBJECT || parser.nextToken() != null) {
        return invalid(
            RejectReason.REJECT_REASON_MALFORMED, "", "payload has content after its JSON object");
      }
    } catch (StreamConstraintsException e) {
      // Thrown without a location: nesting deeper than 64, a number of more than 1,000 digits.
      return invalid(
          RejectReason.REJECT_REASON_MALFORMED,
          "",
          "payload exceeds a JSON limit: " + DeadLetters.message(e.getOriginalMessage()));
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      return invalid(
          RejectReason.REJECT_REASON_MALFORMED,
          "",
          "malformed JSON"
              + (at == null ? "" : " at line " + at.getLineNr() + " column " + at.getColumnNr())
              + ": "
              + DeadLetters.message(e.getOriginalMessage()));
    } catch (IOException e) {
      return invalid(
          RejectReason.REJECT_REASON_MALFORMED, "", "unreadable payload: " + e.getMessage());
    }
    for (FieldSpec field : source.fields().values()) {
      if (field.required() && !values.containsKey(field.name())) {
        return invalid(
            RejectReason.REJECT_REASON_MISSING_FIELD,
            field.name(),
            "required field '" + field.name() + "' is missing or null");
      }
    }
    return values;
  }

  /** A problem with the key, the event id or the event time, or null. */
  private Validation.Invalid problem(Map<String, Value> values, long arrivalMs) {
    Validation.Invalid problem = idProblem(values);
    if (problem != null) {
      return problem;
    }
    long time = values.get(source.eventTimeField()).getTimestampMs();
    EventTimeWindow window = source.eventTimeWindow();
    if (!window.accepts(time, arrivalMs)) {
      return invalid(
          RejectReason.REJECT_REASON_TIME_OUT_OF_WINDOW,
          source.eventTimeField(),
          window.problem(source.eventTimeField(), time, arrivalMs));
    }
    return null;
  }

  /** TOO_LARGE when the event's record (key and value) would not fit the limit, or null. */
  private static Validation.Invalid sizeProblem(Event event) {
    long size = (long) event.getSerializedSize() + utf8Length(event.getEntityId());
    if (size <= MAX_EVENT_BYTES) {
      return null;
    }
    return invalid(
        RejectReason.REJECT_REASON_TOO_LARGE,
        "",
        "the validated event is " + size + " bytes with its key; the limit is " + MAX_EVENT_BYTES);
  }

  private static long utf8Length(String s) {
    return s.length() < 1024 ? s.length() * 3L : s.getBytes(StandardCharsets.UTF_8).length;
  }

  /** A problem with the key or event id (present but empty), or null. */
  private Validation.Invalid idProblem(Map<String, Value> values) {
    Validation.Invalid problem = idProblem("key field", source.keyField(), values);
    if (problem == null && source.eventIdField().isPresent()) {
      problem = idProblem("event id field", source.eventIdField().get(), values);
    }
    return problem;
  }

  /**
   * An empty id, or one longer than {@link #MAX_ID_CHARS}: an id is a Kafka key, a RocksDB key and
   * a dedupe entry, and a key of hundreds of KB would make the raw record of a valid event larger
   * than Kafka takes.
   */
  private static Validation.Invalid idProblem(
      String role, String field, Map<String, Value> values) {
    String id = idOf(values.get(field));
    if (id.isEmpty()) {
      return invalid(
          RejectReason.REJECT_REASON_MISSING_FIELD,
          field,
          role + " '" + field + "' must not be empty");
    }
    if (id.length() > MAX_ID_CHARS) {
      return invalid(
          RejectReason.REJECT_REASON_TOO_LARGE,
          field,
          role
              + " '"
              + field
              + "' is "
              + id.length()
              + " characters long; the limit is "
              + MAX_ID_CHARS);
    }
    return null;
  }

  private Event build(Map<String, Value> values, RecordOrigin origin) {
    String entityId = idOf(values.get(source.keyField()));
    String eventId =
        source.eventIdField().isPresent()
            ? idOf(values.get(source.eventIdField().get()))
            : origin.asEventId();
    Event.Builder event =
        Event.newBuilder()
            .setSource(source.name())
            .setEntityId(entityId)
            .setEventId(eventId)
            .setEventTimeMs(values.get(source.eventTimeField()).getTimestampMs())
            .setIngestTimeMs(clock.millis())
            .setRawTopic(origin.topic())
            .setRawPartition(origin.partition())
            .setRawOffset(origin.offset());
    values.forEach(
        (name, value) -> {
          if (source.isPayloadField(name)) {
            event.putFields(name, value);
          }
        });
    return event.build();
  }

  private static String idOf(Value value) {
    return switch (value.getKindCase()) {
      case STRING_VALUE -> value.getStringValue();
      case LONG_VALUE -> Long.toString(value.getLongValue());
      default -> "";
    };
  }

  /** A {@link Value}, or a {@link Validation.Invalid} saying why not. */
  private static Object convert(FieldSpec field, JsonToken token, JsonParser parser)
      throws IOException {
    String name = field.name();
    switch (field.type()) {
      case DOUBLE -> {
        if (token != JsonToken.VALUE_NUMBER_INT && token != JsonToken.VALUE_NUMBER_FLOAT) {
          return wrongType(field, token, parser);
        }
        double v = parser.getDoubleValue();
        if (!Double.isFinite(v)) {
          return invalid(
              RejectReason.REJECT_REASON_OUT_OF_RANGE, name, "field '" + name + "' must be finite");
        }
        Object bounded = checkBounds(field, v, parser.getText());
        return bounded != null ? bounded : Value.newBuilder().setDoubleValue(v).build();
      }
      case LONG -> {
        if (token != JsonToken.VALUE_NUMBER_INT) {
          return wrongType(field, token, parser);
        }
        long v;
        try {
          v = parser.getLongValue();
        } catch (InputCoercionException e) {
          return invalid(
              RejectReason.REJECT_REASON_OUT_OF_RANGE,
              name,
              "field '" + name + "' does not fit a 64-bit integer: " + parser.getText());
        }
        Object bounded = checkBounds(field, v, Long.toString(v));
        return bounded != null ? bounded : Value.newBuilder().setLongValue(v).build();
      }
      case STRING -> {
        if (token != JsonToken.VALUE_STRING) {
          return wrongType(field, token, parser);
        }
        String text = parser.getText();
        if (!wellFormed(text)) {
          return invalid(
              RejectReason.REJECT_REASON_WRONG_TYPE,
              name,
              "field '" + name + "' is not valid Unicode: it has an unpaired surrogate escape");
        }
        return Value.newBuilder().setStringValue(text).build();
      }
      case BOOL -> {
        if (token != JsonToken.VALUE_TRUE && token != JsonToken.VALUE_FALSE) {
          return wrongType(field, token, parser);
        }
        return Value.newBuilder().setBoolValue(token == JsonToken.VALUE_TRUE).build();
      }
      case TIMESTAMP -> {
        if (token == JsonToken.VALUE_NUMBER_INT) {
          try {
            return Value.newBuilder().setTimestampMs(parser.getLongValue()).build();
          } catch (InputCoercionException e) {
            return invalid(
                RejectReason.REJECT_REASON_OUT_OF_RANGE,
                name,
                "field '" + name + "' is not a valid epoch-millisecond time: " + parser.getText());
          }
        }
        if (token == JsonToken.VALUE_STRING) {
          String text = parser.getText();
          try {
            long ms = OffsetDateTime.parse(text).toInstant().toEpochMilli();
            return Value.newBuilder().setTimestampMs(ms).build();
          } catch (DateTimeParseException | ArithmeticException e) {
            return invalid(
                RejectReason.REJECT_REASON_WRONG_TYPE,
                name,
                "field '"
                    + name
                    + "' must be epoch milliseconds or an ISO-8601 time with offset, got '"
                    + abbreviate(text)
                    + "'");
          }
        }
        return wrongType(field, token, parser);
      }
    }
    throw new IllegalStateException("unhandled type " + field.type());
  }

  static Validation.Invalid checkBounds(FieldSpec field, double v, String text) {
    if (field.ifOutOfRange() == FieldSpec.RangePolicy.CLAMP) {
      return null; // the ETL's cleansing clamps it
    }
    if (field.min().isPresent() && v < field.min().getAsDouble()) {
      return invalid(
          RejectReason.REJECT_REASON_OUT_OF_RANGE,
          field.name(),
          "field '"
              + field.name()
              + "' must be >= "
              + plain(field.min().getAsDouble())
              + ", got "
              + text);
    }
    if (field.max().isPresent() && v > field.max().getAsDouble()) {
      return invalid(
          RejectReason.REJECT_REASON_OUT_OF_RANGE,
          field.name(),
          "field '"
              + field.name()
              + "' must be <= "
              + plain(field.max().getAsDouble())
              + ", got "
              + text);
    }
    return null;
  }

  private static Validation.Invalid wrongType(FieldSpec field, JsonToken token, JsonParser parser)
      throws IOException {
    String got =
        switch (token) {
          case START_OBJECT -> "an object";
          case START_ARRAY -> "an array";
          case VALUE_STRING -> "the string '" + abbreviate(parser.getText()) + "'";
          case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "the number " + parser.getText();
          case VALUE_TRUE, VALUE_FALSE -> "the boolean " + parser.getText();
          default -> token.asString() == null ? token.name() : token.asString();
        };
    parser.skipChildren();
    return invalid(
        RejectReason.REJECT_REASON_WRONG_TYPE,
        field.name(),
        "field '" + field.name() + "' must be " + describe(field.type()) + ", got " + got);
  }

  private static String describe(FieldType type) {
    return switch (type) {
      case DOUBLE -> "a number";
      case LONG -> "an integer";
      case STRING -> "a string";
      case BOOL -> "true or false";
      case TIMESTAMP -> "epoch milliseconds or an ISO-8601 time";
    };
  }

  /**
   * False when the string has an unpaired UTF-16 surrogate (from a JSON escape such as \\ud800).
   */
  private static boolean wellFormed(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 == s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
          return false;
        }
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return false;
      }
    }
    return true;
  }

  private static String plain(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }

  private static String abbreviate(String text) {
    return text.length() <= 40 ? text : text.substring(0, 37) + "...";
  }

  private static Validation.Invalid invalid(RejectReason reason, String field, String message) {
    return new Validation.Invalid(reason, field, message);
  }
}
