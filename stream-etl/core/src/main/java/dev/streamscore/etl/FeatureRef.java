package dev.streamscore.etl;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A stored feature's name, written {@code view:feature} wherever a name travels (model inputs,
 * feature requests). A name without a colon is not a stored feature: a model's request-time input.
 * The one parser and the one set of error texts for such names.
 *
 * @param view the view's name
 * @param feature the feature's name within the view
 */
public record FeatureRef(String view, String feature) {
  public FeatureRef {
    Objects.requireNonNull(view, "view");
    Objects.requireNonNull(feature, "feature");
    if (view.isEmpty() || feature.isEmpty()) {
      throw new IllegalArgumentException(
          "feature '" + view + ":" + feature + "' must be qualified as view:feature");
    }
  }

  /**
   * The stored feature {@code name} refers to, or empty when it has no colon (a request-time
   * input).
   *
   * @throws IllegalArgumentException when it has a colon but no view or no feature around it
   */
  public static Optional<FeatureRef> of(String name) {
    int colon = name.indexOf(':');
    return colon < 0
        ? Optional.empty()
        : Optional.of(new FeatureRef(name.substring(0, colon), name.substring(colon + 1)));
  }

  /**
   * The stored feature {@code name} refers to.
   *
   * @throws IllegalArgumentException when it is not {@code view:feature}
   */
  public static FeatureRef parse(String name) {
    return of(name)
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "feature '" + name + "' must be qualified as view:feature"));
  }

  /**
   * The view among {@code views}.
   *
   * @throws IllegalArgumentException naming the view and the views there are
   */
  public ViewSpec viewIn(Map<String, ViewSpec> views) {
    ViewSpec v = views.get(view);
    if (v == null) {
      throw new IllegalArgumentException(
          "feature '"
              + this
              + "' names view '"
              + view
              + "', which is not among the views here ("
              + String.join(", ", views.keySet())
              + ")");
    }
    return v;
  }

  /**
   * The feature's definition in {@code views}.
   *
   * @throws IllegalArgumentException naming the missing view or feature
   */
  public FeatureDef definitionIn(Map<String, ViewSpec> views) {
    FeatureDef f = viewIn(views).features().get(feature);
    if (f == null) {
      throw new IllegalArgumentException("view '" + view + "' has no feature '" + feature + "'");
    }
    return f;
  }

  /** {@code view:feature}. */
  @Override
  public String toString() {
    return view + ":" + feature;
  }
}
