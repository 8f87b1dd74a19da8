package dev.streamscore.etl;

import java.io.StringReader;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * Reads the spec from SnakeYAML's node tree rather than plain maps, so that every error can name
 * the line it comes from.
 */
final class SpecParser {
  private static final Set<String> TOP_KEYS = Set.of("version", "sources");
  private static final Set<String> SOURCE_KEYS = Set.of("key", "event_id", "event_time", "fields");
  private static final Set<String> FIELD_KEYS = Set.of("type", "required", "min", "max");

  private final String origin;

  SpecParser(String origin) {
    this.origin = origin;
  }

  FeatureSpec parse(String text) {
    Node root;
    try {
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      root = new Yaml(new SafeConstructor(options)).compose(new StringReader(text));
    } catch (MarkedYAMLException e) {
      int line = e.getProblemMark() == null ? 0 : e.getProblemMark().getLine() + 1;
      throw new SpecException(origin + ":" + line + ": invalid YAML: " + e.getProblem());
    } catch (YAMLException e) {
      throw new SpecException(origin + ": invalid YAML: " + e.getMessage());
    }
    if (root == null) {
      throw new SpecException(origin + ": the spec is empty; it needs at least 'sources'");
    }
    Map<String, Node> top = mapping(root, "the spec", TOP_KEYS);
    Node version = top.get("version");
    if (version != null && !"1".equals(scalar(version, "version"))) {
      throw error(version, "version must be 1, got '" + scalar(version, "version") + "'");
    }
    Node sourcesNode = top.get("sources");
    if (sourcesNode == null) {
      throw error(root, "the spec declares no 'sources'");
    }
    Map<String, SourceSpec> sources = new LinkedHashMap<>();
    for (NodeTuple tuple : tuples(sourcesNode, "sources")) {
      String name = scalar(tuple.getKeyNode(), "source name");
      sources.put(name, source(name, tuple.getKeyNode(), tuple.getValueNode()));
    }
    if (sources.isEmpty()) {
      throw error(sourcesNode, "'sources' is empty; declare at least one source");
    }
    return new FeatureSpec(sources);
  }

  private SourceSpec source(String name, Node keyNode, Node node) {
    String where = "source '" + name + "'";
    Map<String, Node> entries = mapping(node, where, SOURCE_KEYS);
    Node fieldsNode = required(entries, "fields", node, where);
    Map<String, FieldSpec> fields = new LinkedHashMap<>();
    for (NodeTuple tuple : tuples(fieldsNode, where + " fields")) {
      String fieldName = scalar(tuple.getKeyNode(), where + " field name");
      fields.put(fieldName, field(where, fieldName, tuple.getValueNode()));
    }
    String key = scalar(required(entries, "key", node, where), where + " key");
    String time = scalar(required(entries, "event_time", node, where), where + " event_time");
    Optional<String> eventId =
        Optional.ofNullable(entries.get("event_id")).map(n -> scalar(n, where + " event_id"));
    try {
      return new SourceSpec(name, key, eventId, time, fields);
    } catch (IllegalArgumentException e) {
      throw error(keyNode, where + ": " + e.getMessage());
    }
  }

  private FieldSpec field(String source, String name, Node node) {
    String where = source + " field '" + name + "'";
    Map<String, Node> entries = mapping(node, where, FIELD_KEYS);
    Node typeNode = required(entries, "type", node, where);
    String typeName = scalar(typeNode, where + " type");
    FieldType type =
        FieldType.fromSpecName(typeName)
            .orElseThrow(
                () ->
                    error(
                        typeNode,
                        where
                            + ": unknown type '"
                            + typeName
                            + "' (expected one of "
                            + FieldType.allSpecNames()
                            + ")"));
    boolean required = false;
    if (entries.containsKey("required")) {
      String value = scalar(entries.get("required"), where + " required");
      if (!value.equals("true") && !value.equals("false")) {
        throw error(
            entries.get("required"),
            where + ": required must be true or false, got '" + value + "'");
      }
      required = Boolean.parseBoolean(value);
    }
    OptionalDouble min = bound(entries.get("min"), where, "min");
    OptionalDouble max = bound(entries.get("max"), where, "max");
    try {
      return new FieldSpec(name, type, required, min, max);
    } catch (IllegalArgumentException e) {
      throw error(node, where + ": " + e.getMessage());
    }
  }

  private OptionalDouble bound(Node node, String where, String which) {
    if (node == null) {
      return OptionalDouble.empty();
    }
    String text = scalar(node, where + " " + which);
    try {
      double value = Double.parseDouble(text);
      if (!Double.isFinite(value)) {
        throw new NumberFormatException();
      }
      return OptionalDouble.of(value);
    } catch (NumberFormatException e) {
      throw error(node, where + ": " + which + " must be a finite number, got '" + text + "'");
    }
  }

  private Map<String, Node> mapping(Node node, String where, Set<String> allowed) {
    Map<String, Node> entries = new LinkedHashMap<>();
    for (NodeTuple tuple : tuples(node, where)) {
      String key = scalar(tuple.getKeyNode(), where + " key");
      if (!allowed.contains(key)) {
        throw error(
            tuple.getKeyNode(),
            where
                + ": unknown key '"
                + key
                + "' (expected one of "
                + String.join(", ", sorted(allowed))
                + ")");
      }
      entries.put(key, tuple.getValueNode());
    }
    return entries;
  }

  private Iterable<NodeTuple> tuples(Node node, String where) {
    if (!(node instanceof MappingNode mapping)) {
      throw error(node, where + " must be a mapping (key: value lines)");
    }
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (NodeTuple tuple : mapping.getValue()) {
      if (tuple.getKeyNode() instanceof ScalarNode key && !seen.add(key.getValue())) {
        throw error(key, where + ": duplicate key '" + key.getValue() + "'");
      }
    }
    return mapping.getValue();
  }

  private String scalar(Node node, String what) {
    if (!(node instanceof ScalarNode scalar)) {
      throw error(node, what + " must be a single value, not a list or mapping");
    }
    return scalar.getValue();
  }

  private Node required(Map<String, Node> entries, String key, Node parent, String where) {
    Node node = entries.get(key);
    if (node == null) {
      throw error(parent, where + " is missing '" + key + "'");
    }
    return node;
  }

  private SpecException error(Node node, String message) {
    return new SpecException(origin + ":" + (node.getStartMark().getLine() + 1) + ": " + message);
  }

  private static java.util.List<String> sorted(Set<String> keys) {
    return keys.stream().sorted().toList();
  }
}
