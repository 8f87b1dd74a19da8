package dev.streamscore.etl;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A declared event source: the JSON records of {@code raw.<name>}, validated into {@code
 * events.<name>}.
 *
 * @param name the source name; lower-case letters, digits, {@code _} and {@code -}
 * @param keyField the field holding the entity id (a required string or long field)
 * @param eventIdField the field holding the producer's event id (a required string or long field);
 *     empty derives the id from the raw record's topic, partition and offset
 * @param eventTimeField the field holding the event time (a required timestamp field)
 * @param fields every declared field by name, in declaration order
 */
public record SourceSpec(
    String name,
    String keyField,
    Optional<String> eventIdField,
    String eventTimeField,
    Map<String, FieldSpec> fields) {

  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_\\-]{0,63}");

  public SourceSpec {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "source name '"
              + name
              + "' must start with a lower-case letter and hold only a-z, 0-9, '_' and '-' (at most 64)");
    }
    Map<String, FieldSpec> declared =
        java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    requireField(declared, "key", keyField, FieldType.STRING, FieldType.LONG);
    eventIdField.ifPresent(
        f -> requireField(declared, "event_id", f, FieldType.STRING, FieldType.LONG));
    requireField(declared, "event_time", eventTimeField, FieldType.TIMESTAMP, FieldType.TIMESTAMP);
    fields = declared;
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
    return "raw." + name;
  }

  /** {@code events.<name>}. */
  public String eventsTopic() {
    return "events." + name;
  }

  /** True for the fields that go into {@code Event.fields} (all but key, event id and time). */
  public boolean isPayloadField(String field) {
    return !field.equals(keyField)
        && !field.equals(eventTimeField)
        && !eventIdField.map(field::equals).orElse(false);
  }
}
