package dev.streamscore.etl;

import dev.streamscore.proto.v1.Value;
import java.util.List;
import java.util.Objects;

/**
 * A per-event transform: derives column {@link #output()} from column {@link #input()} after
 * cleansing. A null input gives a null output. Transforms run in declaration order, so one may read
 * an earlier one's output.
 */
public sealed interface TransformSpec {

  /** The derived column's name. */
  String output();

  /** The column it reads: a payload field or an earlier transform's output. */
  String input();

  /** The derived column's type. */
  FieldType outputType();

  /** Whether the transform accepts an input column of this type. */
  boolean accepts(FieldType inputType);

  /**
   * Applies the transform to a non-null input.
   *
   * @throws Failure when the value is outside the transform's domain (log1p of -2)
   */
  Value apply(Value input) throws Failure;

  /** A value outside a transform's domain; the event is rejected as TRANSFORM_FAILED. */
  final class Failure extends Exception {
    private static final long serialVersionUID = 1L;

    Failure(String message) {
      super(message, null, false, false);
    }
  }

  private static double number(Value v) {
    return v.getKindCase() == Value.KindCase.LONG_VALUE ? v.getLongValue() : v.getDoubleValue();
  }

  private static boolean numeric(FieldType type) {
    return type == FieldType.DOUBLE || type == FieldType.LONG;
  }

  /** {@code ln(1 + x)}, a double; fails for x <= -1. */
  record Log1p(String output, String input) implements TransformSpec {
    public Log1p {
      Objects.requireNonNull(output, "output");
      Objects.requireNonNull(input, "input");
    }

    @Override
    public FieldType outputType() {
      return FieldType.DOUBLE;
    }

    @Override
    public boolean accepts(FieldType type) {
      return numeric(type);
    }

    @Override
    public Value apply(Value in) throws Failure {
      double x = number(in);
      if (!(x > -1)) {
        throw new Failure("log1p of '" + input + "' needs a value above -1, got " + x);
      }
      return Value.newBuilder().setDoubleValue(Math.log1p(x)).build();
    }
  }

  /**
   * The bucket index, a long: the number of boundaries at or below the value, so values below the
   * first boundary are bucket 0 and values at or above the last are bucket {@code
   * boundaries.size()}.
   */
  record Bucketize(String output, String input, List<Double> boundaries) implements TransformSpec {
    public Bucketize {
      Objects.requireNonNull(output, "output");
      Objects.requireNonNull(input, "input");
      boundaries = List.copyOf(boundaries);
      if (boundaries.isEmpty()) {
        throw new IllegalArgumentException("bucketize needs at least one boundary");
      }
      for (int i = 0; i < boundaries.size(); i++) {
        if (!Double.isFinite(boundaries.get(i))
            || (i > 0 && boundaries.get(i) <= boundaries.get(i - 1))) {
          throw new IllegalArgumentException(
              "bucketize boundaries must be finite and strictly increasing, got " + boundaries);
        }
      }
    }

    @Override
    public FieldType outputType() {
      return FieldType.LONG;
    }

    @Override
    public boolean accepts(FieldType type) {
      return numeric(type);
    }

    @Override
    public Value apply(Value in) {
      double x = number(in);
      int lo = 0;
      int hi = boundaries.size();
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (boundaries.get(mid) <= x) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      return Value.newBuilder().setLongValue(lo).build();
    }
  }

  /** {@code (x - mean) / std}, a double. */
  record StandardScale(String output, String input, double mean, double std)
      implements TransformSpec {
    public StandardScale {
      Objects.requireNonNull(output, "output");
      Objects.requireNonNull(input, "input");
      if (!Double.isFinite(mean) || !(std > 0) || !Double.isFinite(std)) {
        throw new IllegalArgumentException(
            "standard_scale needs a finite mean and a finite std above 0, got mean "
                + mean
                + " and std "
                + std);
      }
    }

    @Override
    public FieldType outputType() {
      return FieldType.DOUBLE;
    }

    @Override
    public boolean accepts(FieldType type) {
      return numeric(type);
    }

    @Override
    public Value apply(Value in) {
      return Value.newBuilder().setDoubleValue((number(in) - mean) / std).build();
    }
  }

  /**
   * The value's index in the vocabulary, a long; a value not in it gets the unknown bucket, {@code
   * vocabulary.size()}.
   */
  record Categorical(String output, String input, List<String> vocabulary)
      implements TransformSpec {
    public Categorical {
      Objects.requireNonNull(output, "output");
      Objects.requireNonNull(input, "input");
      vocabulary = List.copyOf(vocabulary);
      if (vocabulary.isEmpty() || vocabulary.stream().distinct().count() != vocabulary.size()) {
        throw new IllegalArgumentException(
            "categorical needs a non-empty vocabulary without repeats, got " + vocabulary);
      }
    }

    @Override
    public FieldType outputType() {
      return FieldType.LONG;
    }

    @Override
    public boolean accepts(FieldType type) {
      return type == FieldType.STRING || type == FieldType.LONG || type == FieldType.BOOL;
    }

    @Override
    public Value apply(Value in) {
      String text =
          switch (in.getKindCase()) {
            case STRING_VALUE -> in.getStringValue();
            case LONG_VALUE -> Long.toString(in.getLongValue());
            case BOOL_VALUE -> Boolean.toString(in.getBoolValue());
            default -> "";
          };
      int index = vocabulary.indexOf(text);
      return Value.newBuilder().setLongValue(index < 0 ? vocabulary.size() : index).build();
    }
  }
}
