package dev.streamscore.modelsync;

import java.util.Objects;

/**
 * A model's alias, written {@code model:alias} on command lines ({@code fraud:prod}): names of 1 to
 * 64 of a-z, 0-9, '_' and '-', as the registry accepts them.
 *
 * @param model the model's name
 * @param alias the alias
 */
public record ModelAlias(String model, String alias) {
  public ModelAlias {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(alias, "alias");
    if (!isName(model) || !isName(alias)) {
      throw new IllegalArgumentException(
          "a model alias is MODEL:ALIAS (fraud:prod), each 1 to 64 of a-z, 0-9, '_' and '-', got '"
              + abbreviate(model + ":" + alias)
              + "'");
    }
  }

  /** True when {@code name} may name a model or an alias: 1 to 64 of a-z, 0-9, '_' and '-'. */
  public static boolean isName(String name) {
    // A loop rather than a regex: every request's model and alias pass through here.
    int n = name.length();
    if (n < 1 || n > 64) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = name.charAt(i);
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
        return false;
      }
    }
    return true;
  }

  /** True when {@code model} and {@code alias} are names an alias may have. */
  static boolean isValid(String model, String alias) {
    return isName(model) && isName(alias);
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
