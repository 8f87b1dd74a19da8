package dev.streamscore.etl;

import dev.streamscore.proto.v1.Value;
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
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Reads the spec from SnakeYAML's node tree rather than plain maps, so that every error can name
 * the line it comes from.
 */
final class SpecParser {
  private static final Set<String> TOP_KEYS = Set.of("version", "sources", "views");
  private static final Set<String> SOURCE_KEYS =
      Set.of(
          "key",
          "event_id",
          "event_time",
          "event_time_window",
          "fields",
          "dedupe_horizon",
          "transforms");
  private static final Set<String> WINDOW_KEYS = Set.of("past", "future");
  private static final Set<String> FIELD_KEYS =
      Set.of("type", "required", "min", "max", "if_null", "default", "if_out_of_range");
  private static final Set<String> VIEW_KEYS =
      Set.of("source", "tile", "allowed_lateness", "ttl", "features");
  private static final Set<String> FEATURE_KEYS = Set.of("agg", "column", "window");
  private static final Map<String, Set<String>> TRANSFORM_KEYS =
      Map.of(
          "log1p", Set.of("log1p"),
          "bucketize", Set.of("bucketize", "boundaries"),
          "standard_scale", Set.of("standard_scale", "mean", "std"),
          "categorical", Set.of("categorical", "vocabulary"));

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
    Map<String, ViewSpec> views = new LinkedHashMap<>();
    Node viewsNode = top.get("views");
    if (viewsNode != null) {
      for (NodeTuple tuple : tuples(viewsNode, "views")) {
        String name = scalar(tuple.getKeyNode(), "view name");
        views.put(name, view(name, tuple.getKeyNode(), tuple.getValueNode(), sources));
      }
    }
    return new FeatureSpec(sources, views);
  }

  private ViewSpec view(String name, Node keyNode, Node node, Map<String, SourceSpec> sources) {
    String where = "view '" + name + "'";
    Map<String, Node> entries = mapping(node, where, VIEW_KEYS);
    Node sourceNode = required(entries, "source", node, where);
    String sourceName = scalar(sourceNode, where + " source");
    SourceSpec source = sources.get(sourceName);
    if (source == null) {
      throw error(
          sourceNode,
          where
              + ": source '"
              + sourceName
              + "' is not declared (declared: "
              + String.join(", ", sources.keySet())
              + ")");
    }
    long tile = duration(required(entries, "tile", node, where), where + " tile");
    long lateness =
        entries.containsKey("allowed_lateness")
            ? duration(entries.get("allowed_lateness"), where + " allowed_lateness")
            : 0;
    Node featuresNode = required(entries, "features", node, where);
    Map<String, FeatureDef> features = new LinkedHashMap<>();
    long longest = 0;
    for (NodeTuple tuple : tuples(featuresNode, where + " features")) {
      String featureName = scalar(tuple.getKeyNode(), where + " feature name");
      FeatureDef feature = feature(where, featureName, tuple.getValueNode(), source, tile);
      features.put(featureName, feature);
      longest = Math.max(longest, feature.windowMs());
    }
    // A last value older than the longest window is out of every window anyway.
    long ttl = entries.containsKey("ttl") ? duration(entries.get("ttl"), where + " ttl") : longest;
    try {
      return new ViewSpec(name, sourceName, tile, lateness, ttl, features);
    } catch (IllegalArgumentException e) {
      throw error(keyNode, e.getMessage());
    }
  }

  private FeatureDef feature(String view, String name, Node node, SourceSpec source, long tile) {
    String where = view + " feature '" + name + "'";
    Map<String, Node> entries = mapping(node, where, FEATURE_KEYS);
    Node aggNode = required(entries, "agg", node, where);
    String aggName = scalar(aggNode, where + " agg");
    Aggregation agg =
        named(
            aggNode,
            where,
            "agg",
            aggName,
            Aggregation.fromSpecName(aggName),
            Aggregation.allSpecNames());
    Optional<String> column = Optional.empty();
    Node columnNode = entries.get("column");
    if (columnNode != null) {
      String columnName = scalar(columnNode, where + " column");
      FieldType type =
          source
              .columnType(columnName)
              .orElseThrow(
                  () ->
                      error(
                          columnNode,
                          where
                              + ": column '"
                              + columnName
                              + "' is not a payload field or transform output of source '"
                              + source.name()
                              + "'"));
      if (agg.numeric() && type != FieldType.DOUBLE && type != FieldType.LONG) {
        throw error(
            columnNode,
            where
                + ": "
                + agg.specName()
                + " needs a double or long column; '"
                + columnName
                + "' is "
                + type.specName());
      }
      column = Optional.of(columnName);
    }
    Node windowNode = required(entries, "window", node, where);
    long window = duration(windowNode, where + " window");
    if (window % tile != 0) {
      throw error(
          windowNode,
          where
              + ": window "
              + Durations.format(window)
              + " is not a multiple of the tile "
              + Durations.format(tile));
    }
    try {
      return new FeatureDef(name, agg, column, window);
    } catch (IllegalArgumentException e) {
      throw error(node, view + ": " + e.getMessage());
    }
  }

  private TransformSpec transform(String source, String output, Node node) {
    String where = source + " transform '" + output + "'";
    if (!(node instanceof MappingNode)) {
      throw error(node, where + " must be a mapping such as {log1p: amount}");
    }
    String kind = null;
    for (NodeTuple tuple : tuples(node, where)) {
      String key = scalar(tuple.getKeyNode(), where + " key");
      if (TRANSFORM_KEYS.containsKey(key)) {
        if (kind != null) {
          throw error(
              tuple.getKeyNode(),
              where + ": names two transforms, '" + kind + "' and '" + key + "'");
        }
        kind = key;
      }
    }
    if (kind == null) {
      throw error(
          node,
          where
              + ": names no transform (expected one of "
              + String.join(", ", sorted(TRANSFORM_KEYS.keySet()))
              + ")");
    }
    Map<String, Node> entries = mapping(node, where, TRANSFORM_KEYS.get(kind));
    String input = scalar(entries.get(kind), where + " " + kind);
    try {
      return switch (kind) {
        case "log1p" -> new TransformSpec.Log1p(output, input);
        case "bucketize" ->
            new TransformSpec.Bucketize(
                output,
                input,
                sequence(required(entries, "boundaries", node, where), where + " boundaries")
                    .stream()
                    .map(n -> number(n, where + " boundary"))
                    .toList());
        case "standard_scale" ->
            new TransformSpec.StandardScale(
                output,
                input,
                number(required(entries, "mean", node, where), where + " mean"),
                number(required(entries, "std", node, where), where + " std"));
        default ->
            new TransformSpec.Categorical(
                output,
                input,
                sequence(required(entries, "vocabulary", node, where), where + " vocabulary")
                    .stream()
                    .map(n -> scalar(n, where + " vocabulary entry"))
                    .toList());
      };
    } catch (IllegalArgumentException e) {
      throw error(node, where + ": " + e.getMessage());
    }
  }

  private java.util.List<Node> sequence(Node node, String what) {
    if (!(node instanceof SequenceNode seq)) {
      throw error(node, what + " must be a list such as [1, 2, 3]");
    }
    return seq.getValue();
  }

  private double number(Node node, String what) {
    String text = scalar(node, what);
    try {
      double value = Double.parseDouble(text);
      if (Double.isFinite(value)) {
        return value;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw error(node, what + " must be a finite number, got '" + text + "'");
  }

  private long duration(Node node, String what) {
    String text = scalar(node, what);
    long ms = Durations.parseMillis(text);
    if (ms < 0) {
      throw error(
          node, what + " must be a duration such as 500ms, 30s, 5m, 1h or 7d, got '" + text + "'");
    }
    return ms;
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
    long horizon =
        entries.containsKey("dedupe_horizon")
            ? duration(entries.get("dedupe_horizon"), where + " dedupe_horizon")
            : 0;
    EventTimeWindow window = EventTimeWindow.DEFAULT;
    Node windowNode = entries.get("event_time_window");
    if (windowNode != null) {
      Map<String, Node> bounds = mapping(windowNode, where + " event_time_window", WINDOW_KEYS);
      window =
          new EventTimeWindow(
              bounds.containsKey("past")
                  ? duration(bounds.get("past"), where + " event_time_window past")
                  : window.pastMs(),
              bounds.containsKey("future")
                  ? duration(bounds.get("future"), where + " event_time_window future")
                  : window.futureMs());
    }
    java.util.List<TransformSpec> transforms = new java.util.ArrayList<>();
    Node transformsNode = entries.get("transforms");
    if (transformsNode != null) {
      Map<String, FieldType> columns = new LinkedHashMap<>();
      fields.forEach((n, f) -> columns.put(n, f.type()));
      for (NodeTuple tuple : tuples(transformsNode, where + " transforms")) {
        String output = scalar(tuple.getKeyNode(), where + " transform name");
        TransformSpec t = transform(where, output, tuple.getValueNode());
        FieldType in = columns.get(t.input());
        if (in == null) {
          throw error(
              tuple.getValueNode(),
              where
                  + " transform '"
                  + output
                  + "' reads '"
                  + t.input()
                  + "', which is neither a declared field nor an earlier transform's output");
        }
        if (!t.accepts(in)) {
          throw error(
              tuple.getValueNode(),
              where
                  + " transform '"
                  + output
                  + "' cannot read '"
                  + t.input()
                  + "', a "
                  + in.specName());
        }
        columns.put(output, t.outputType());
        transforms.add(t);
      }
    }
    try {
      return new SourceSpec(name, key, eventId, time, fields, horizon, transforms, window);
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
        named(
            typeNode,
            where,
            "type",
            typeName,
            FieldType.fromSpecName(typeName),
            FieldType.allSpecNames());
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
    FieldSpec.NullPolicy ifNull =
        policy(entries.get("if_null"), where + " if_null", FieldSpec.NullPolicy.class);
    FieldSpec.RangePolicy ifOutOfRange =
        policy(
            entries.get("if_out_of_range"),
            where + " if_out_of_range",
            FieldSpec.RangePolicy.class);
    Optional<Value> defaultValue = Optional.empty();
    Node defaultNode = entries.get("default");
    if (defaultNode != null) {
      defaultValue = Optional.of(literal(defaultNode, type, where + " default"));
    }
    try {
      return new FieldSpec(name, type, required, min, max, ifNull, defaultValue, ifOutOfRange);
    } catch (IllegalArgumentException e) {
      throw error(node, where + ": " + e.getMessage());
    }
  }

  /** The value a name stands for, or an error listing the names there are. */
  private <T> T named(
      Node node, String where, String what, String name, Optional<T> value, String allNames) {
    return value.orElseThrow(
        () ->
            error(
                node,
                where
                    + ": unknown "
                    + what
                    + " '"
                    + name
                    + "' (expected one of "
                    + allNames
                    + ")"));
  }

  private <E extends Enum<E>> E policy(Node node, String what, Class<E> type) {
    E[] values = type.getEnumConstants();
    if (node == null) {
      return values[0];
    }
    String text = scalar(node, what);
    for (E value : values) {
      if (value.name().toLowerCase(java.util.Locale.ROOT).equals(text)) {
        return value;
      }
    }
    throw error(
        node,
        what
            + " must be one of "
            + java.util.Arrays.stream(values)
                .map(v -> v.name().toLowerCase(java.util.Locale.ROOT))
                .collect(java.util.stream.Collectors.joining(", "))
            + ", got '"
            + text
            + "'");
  }

  private Value literal(Node node, FieldType type, String what) {
    String text = scalar(node, what);
    try {
      return switch (type) {
        case DOUBLE -> {
          double v = Double.parseDouble(text);
          if (!Double.isFinite(v)) {
            throw new IllegalArgumentException();
          }
          yield Value.newBuilder().setDoubleValue(v).build();
        }
        case LONG -> Value.newBuilder().setLongValue(Long.parseLong(text)).build();
        case STRING -> Value.newBuilder().setStringValue(text).build();
        case BOOL -> {
          if (!text.equals("true") && !text.equals("false")) {
            throw new IllegalArgumentException();
          }
          yield Value.newBuilder().setBoolValue(Boolean.parseBoolean(text)).build();
        }
        case TIMESTAMP ->
            Value.newBuilder()
                .setTimestampMs(
                    text.matches("-?\\d+")
                        ? Long.parseLong(text)
                        : java.time.OffsetDateTime.parse(text).toInstant().toEpochMilli())
                .build();
      };
    } catch (RuntimeException e) {
      throw error(node, what + " must be a " + type.specName() + ", got '" + text + "'");
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
