package dev.streamscore.modelsync;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A model's alias, written {@code model:alias} on command lines ({@code fraud:prod}): names of 1 to
 * 64 of a-z, 0-9, '_' and '-', as the registry accepts them.
 *
 * @param model the model's name
 * @param alias the alias
 */
public record ModelAlias(String model, String alias) {
  static final Pattern NAME = Pattern.compile("[a-z0-9_-]{1,64}");

  public ModelAlias {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(alias, "alias");
    if (!NAME.matcher(model).matches() || !NAME.matcher(alias).matches()) {
      throw new IllegalArgumentException(
          "a model alias is MODEL:ALIAS (fraud:prod), each 1 to 64 of a-z, 0-9, '_' and '-', got '"
              + abbreviate(model + ":" + alias)
              + "'");
    }
  }

  /** True when {@code name} may name a model or an alias: 1 to 64 of a-z, 0-9, '_' and '-'. */
  public static boolean isName(String name) {
    return NAME.matcher(name).matches();
  }

  /** True when {@code model} and {@code alias} are names an alias may have. */
  static boolean isValid(String model, String alias) {
    return NAME.matcher(model).matches() && NAME.matcher(alias).matches();
  }

  /**
   * Reads {@code model:alias}.
   *
   * @throws IllegalArgumentException saying what is expected
   */
  public static ModelAlias parse(String text) {
    int colon = text.indexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException(
          "a model alias is MODEL:ALIAS (fraud:prod), got '" + abbreviate(text) + "'");
    }
    return new ModelAlias(text.substring(0, colon), text.substring(colon + 1));
  }

  private static String abbreviate(String text) {
    return text.length() <= 80 ? text : text.substring(0, 77) + "...";
  }

  /** {@code model:alias}. */
  @Override
  public String toString() {
    return model + ":" + alias;
  }
}
