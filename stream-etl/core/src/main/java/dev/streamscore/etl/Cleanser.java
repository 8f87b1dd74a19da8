package dev.streamscore.etl;

import dev.streamscore.proto.v1.RejectReason;
import dev.streamscore.proto.v1.Value;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Cleansing and transforms of one source: turns an event into its column values (payload fields,
 * then transform outputs) or a {@link Rejection}. Stateless and thread-safe.
 */
final class Cleanser {
  private final SourceSpec source;
  private final FieldSpec[] fields;
  private final TransformSpec[] transforms;
  private final int[] transformInputs;
  private final List<String> columns;
  private final Map<String, Integer> index = new HashMap<>();

  Cleanser(SourceSpec source) {
    this.source = source;
    List<FieldSpec> payload = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (FieldSpec f : source.fields().values()) {
      if (source.isPayloadField(f.name())) {
        payload.add(f);
        index.put(f.name(), names.size());
        names.add(f.name());
      }
    }
    this.fields = payload.toArray(FieldSpec[]::new);
    this.transforms = source.transforms().toArray(TransformSpec[]::new);
    this.transformInputs = new int[transforms.length];
    for (int i = 0; i < transforms.length; i++) {
      transformInputs[i] = index.get(transforms[i].input());
      index.put(transforms[i].output(), names.size());
      names.add(transforms[i].output());
    }
    this.columns = List.copyOf(names);
  }

  /** The payload fields' names: the first columns, in the same order. */
  List<String> payloadFields() {
    return columns.subList(0, fields.length);
  }

  /** Column names in the order of {@link #clean}'s array. */
  List<String> columns() {
    return columns;
  }

  /** The column's position, or -1. */
  int indexOf(String column) {
    return index.getOrDefault(column, -1);
  }

  /**
   * Cleans and transforms one event into {@code row} (one slot per column; null is a null value).
   *
   * @return null when the event is clean, else why it is rejected
   */
  Rejection clean(EventView event, Value[] row) {
    if (event.entityId().isEmpty()) {
      return reject(
          RejectReason.REJECT_REASON_MISSING_FIELD, source.keyField(), "the entity id is empty");
    }
    if (event.eventId().isEmpty()) {
      return reject(
          RejectReason.REJECT_REASON_MISSING_FIELD,
          source.eventIdField().orElse(""),
          "the event id is empty");
    }
    for (int i = 0; i < fields.length; i++) {
      FieldSpec field = fields[i];
      Value v = event.field(i, field.name());
      if (v == null || v.getKindCase() == Value.KindCase.KIND_NOT_SET) {
        if (field.required()) {
          return reject(
              RejectReason.REJECT_REASON_MISSING_FIELD,
              field.name(),
              "field '" + field.name() + "' is required");
        }
        switch (field.ifNull()) {
          case KEEP -> row[i] = null;
          case DEFAULT -> row[i] = field.defaultValue().orElseThrow();
          case DROP -> {
            return reject(
                RejectReason.REJECT_REASON_MISSING_FIELD,
                field.name(),
                "field '" + field.name() + "' is null and its if_null policy is drop");
          }
        }
        continue;
      }
      if (!hasType(v, field.type())) {
        return reject(
            RejectReason.REJECT_REASON_WRONG_TYPE,
            field.name(),
            "field '"
                + field.name()
                + "' must be a "
                + field.type().specName()
                + ", got a "
                + v.getKindCase().name().toLowerCase(java.util.Locale.ROOT));
      }
      Object checked = range(field, v);
      if (checked instanceof Rejection r) {
        return r;
      }
      row[i] = (Value) checked;
    }
    for (int t = 0; t < transforms.length; t++) {
      Value in = row[transformInputs[t]];
      int out = fields.length + t;
      if (in == null) {
        row[out] = null;
        continue;
      }
      try {
        row[out] = transforms[t].apply(in);
      } catch (TransformSpec.Failure e) {
        return reject(
            RejectReason.REJECT_REASON_TRANSFORM_FAILED, transforms[t].output(), e.getMessage());
      }
    }
    return null;
  }

  /** The value, clamped if its policy says so, or the rejection. */
  private static Object range(FieldSpec field, Value v) {
    double x;
    switch (field.type()) {
      case DOUBLE -> {
        x = v.getDoubleValue();
        if (!Double.isFinite(x)) {
          return reject(
              RejectReason.REJECT_REASON_OUT_OF_RANGE,
              field.name(),
              "field '" + field.name() + "' must be finite");
        }
      }
      case LONG -> x = v.getLongValue();
      default -> {
        return v;
      }
    }
    if (!field.outOfRange(x)) {
      return v;
    }
    if (field.ifOutOfRange() == FieldSpec.RangePolicy.DROP) {
      Validation.Invalid invalid =
          EventValidator.checkBounds(
              field,
              x,
              field.type() == FieldType.LONG
                  ? Long.toString(v.getLongValue())
                  : Double.toString(x));
      return reject(invalid.reason(), invalid.field(), invalid.message());
    }
    double lo = field.min().orElse(Double.NEGATIVE_INFINITY);
    double hi = field.max().orElse(Double.POSITIVE_INFINITY);
    if (field.type() == FieldType.DOUBLE) {
      return Value.newBuilder().setDoubleValue(Math.min(hi, Math.max(lo, x))).build();
    }
    long clamped =
        x < lo ? (long) Math.ceil(lo) : (long) Math.floor(hi); // bounds may be fractional
    return Value.newBuilder().setLongValue(clamped).build();
  }

  private static boolean hasType(Value v, FieldType type) {
    return switch (type) {
      case DOUBLE -> v.getKindCase() == Value.KindCase.DOUBLE_VALUE;
      case LONG -> v.getKindCase() == Value.KindCase.LONG_VALUE;
      case STRING -> v.getKindCase() == Value.KindCase.STRING_VALUE;
      case BOOL -> v.getKindCase() == Value.KindCase.BOOL_VALUE;
      case TIMESTAMP -> v.getKindCase() == Value.KindCase.TIMESTAMP_MS;
    };
  }

  private static Rejection reject(RejectReason reason, String field, String message) {
    return new Rejection(reason, field, "", message);
  }
}
