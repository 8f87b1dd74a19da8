package dev.streamscore.etl;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A declared event source: the JSON records of {@code raw.<name>}, validated into {@code
 * events.<name>}, cleansed and transformed by the ETL engines.
 *
 * @param name the source name; lower-case letters, digits, {@code _} and {@code -}
 * @param keyField the field holding the entity id (a required string or long field)
 * @param eventIdField the field holding the producer's event id (a required string or long field);
 *     empty derives the id from the raw record's topic, partition and offset
 * @param eventTimeField the field holding the event time (a required timestamp field)
 * @param fields every declared field by name, in declaration order
 * @param dedupeHorizonMs an event whose id was accepted for the same entity at an event time no
 *     older than this below the entity's greatest event time is a DUPLICATE; 0 turns dedupe off
 * @param transforms the per-event transforms, in the order they run
 * @param eventTimeWindow which event times are accepted relative to a record's arrival
 */
public record SourceSpec(
    String name,
    String keyField,
    Optional<String> eventIdField,
    String eventTimeField,
    Map<String, FieldSpec> fields,
    long dedupeHorizonMs,
    List<TransformSpec> transforms,
    EventTimeWindow eventTimeWindow) {

  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_\\-]{0,63}");

  public SourceSpec {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "source name '"
              + name
              + "' must start with a lower-case letter and hold only a-z, 0-9, '_' and '-' (at most 64)");
    }
    Map<String, FieldSpec> declared = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    requireField(declared, "key", keyField, FieldType.STRING, FieldType.LONG);
    eventIdField.ifPresent(
        f -> requireField(declared, "event_id", f, FieldType.STRING, FieldType.LONG));
    requireField(declared, "event_time", eventTimeField, FieldType.TIMESTAMP, FieldType.TIMESTAMP);
    fields = declared;
    if (dedupeHorizonMs < 0) {
      throw new IllegalArgumentException("dedupe horizon must not be negative");
    }
    transforms = List.copyOf(transforms);
    java.util.Objects.requireNonNull(eventTimeWindow, "eventTimeWindow");
    Map<String, FieldType> columns = new LinkedHashMap<>();
    declared.forEach((n, f) -> columns.put(n, f.type()));
    for (TransformSpec t : transforms) {
      FieldType in = columns.get(t.input());
      if (in == null) {
        throw new IllegalArgumentException(
            "transform '"
                + t.output()
                + "' reads '"
                + t.input()
                + "', which is neither a declared field nor an earlier transform's output");
      }
      if (!t.accepts(in)) {
        throw new IllegalArgumentException(
            "transform '" + t.output() + "' cannot read '" + t.input() + "', a " + in.specName());
      }
      if (columns.put(t.output(), t.outputType()) != null) {
        throw new IllegalArgumentException(
            "transform output '" + t.output() + "' is already a field or transform output");
      }
    }
  }

  /** A source with the default event-time window. */
  public SourceSpec(
      String name,
      String keyField,
      Optional<String> eventIdField,
      String eventTimeField,
      Map<String, FieldSpec> fields,
      long dedupeHorizonMs,
      List<TransformSpec> transforms) {
    this(
        name,
        keyField,
        eventIdField,
        eventTimeField,
        fields,
        dedupeHorizonMs,
        transforms,
        EventTimeWindow.DEFAULT);
  }

  /** A source without dedupe or transforms. */
  public SourceSpec(
      String name,
      String keyField,
      Optional<String> eventIdField,
      String eventTimeField,
      Map<String, FieldSpec> fields) {
    this(name, keyField, eventIdField, eventTimeField, fields, 0, List.of());
  }

  private static void requireField(
      Map<String, FieldSpec> fields, String role, String fieldName, FieldType a, FieldType b) {
    FieldSpec field = fields.get(fieldName);
    if (field == null) {
      throw new IllegalArgumentException(
          role + " names field '" + fieldName + "', which is not declared");
    }
    if (field.type() != a && field.type() != b) {
      throw new IllegalArgumentException(
          role
              + " field '"
              + fieldName
              + "' must be "
              + (a == b ? a.specName() : a.specName() + " or " + b.specName())
              + ", not "
              + field.type().specName());
    }
    if (!field.required()) {
      throw new IllegalArgumentException(role + " field '" + fieldName + "' must be required");
    }
  }

  /** {@code raw.<name>}. */
  public String rawTopic() {
    return TopicNames.raw(name);
  }

  /** {@code events.<name>}. */
  public String eventsTopic() {
    return TopicNames.events(name);
  }

  /** True for the fields that go into {@code Event.fields} (all but key, event id and time). */
  public boolean isPayloadField(String field) {
    return !field.equals(keyField)
        && !field.equals(eventTimeField)
        && !eventIdField.map(field::equals).orElse(false);
  }

  /** The transform producing this column, if it is a transform output. */
  public Optional<TransformSpec> transform(String column) {
    return transforms.stream().filter(t -> t.output().equals(column)).findFirst();
  }

  /**
   * The type of a column views may aggregate: a payload field or a transform output; empty for
   * anything else (the key, event id and event time are not columns).
   */
  public Optional<FieldType> columnType(String column) {
    FieldSpec field = fields.get(column);
    if (field != null) {
      return isPayloadField(column) ? Optional.of(field.type()) : Optional.empty();
    }
    return transform(column).map(TransformSpec::outputType);
  }
}
