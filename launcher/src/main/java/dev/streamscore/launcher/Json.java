package dev.streamscore.launcher;

import java.util.Collection;
import java.util.Map;

/**
 * A small JSON writer for the console's answers: maps, collections, strings, numbers (non-finite
 * ones as {@code null}), booleans, {@code long[]} and {@code double[]}.
 */
final class Json {
  private Json() {}

  static String write(Object value) {
    StringBuilder out = new StringBuilder();
    write(value, out);
    return out.toString();
  }

  private static void write(Object value, StringBuilder out) {
    if (value == null) {
      out.append("null");
    } else if (value instanceof String s) {
      string(s, out);
    } else if (value instanceof Double d) {
      number(d, out);
    } else if (value instanceof Float f) {
      number(f.doubleValue(), out);
    } else if (value instanceof Number || value instanceof Boolean) {
      out.append(value);
    } else if (value instanceof Map<?, ?> map) {
      out.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : map.entrySet()) {
        if (!first) {
          out.append(',');
        }
        first = false;
        string(String.valueOf(e.getKey()), out);
        out.append(':');
        write(e.getValue(), out);
      }
      out.append('}');
    } else if (value instanceof Collection<?> list) {
      out.append('[');
      boolean first = true;
      for (Object v : list) {
        if (!first) {
          out.append(',');
        }
        first = false;
        write(v, out);
      }
      out.append(']');
    } else if (value instanceof long[] longs) {
      out.append('[');
      for (int i = 0; i < longs.length; i++) {
        out.append(i == 0 ? "" : ",").append(longs[i]);
      }
      out.append(']');
    } else if (value instanceof double[] doubles) {
      out.append('[');
      for (int i = 0; i < doubles.length; i++) {
        out.append(i == 0 ? "" : ",");
        number(doubles[i], out);
      }
      out.append(']');
    } else {
      string(value.toString(), out);
    }
  }

  private static void number(double d, StringBuilder out) {
    if (Double.isFinite(d)) {
      out.append(d);
    } else {
      out.append("null");
    }
  }

  private static void string(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x2028 || c == 0x2029) {
            // Control characters, and what could close a script element, escaped.
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
