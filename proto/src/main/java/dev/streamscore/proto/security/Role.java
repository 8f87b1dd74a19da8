package dev.streamscore.proto.security;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/** What an identity may do; each rpc needs one ({@link Rpcs}). */
public enum Role {
  /** Publishes events: {@code Ingest}. */
  PRODUCER,
  /** Reads online features: {@code FeatureService}. */
  READER,
  /** Asks for predictions: {@code Scoring}. */
  SCORER,
  /** Registers model versions and records training runs. */
  PUBLISHER,
  /** Moves aliases: promote and roll back. */
  OPERATOR,
  /** A scoring node: watches the registry, downloads artifacts, reports its status. */
  NODE;

  /** The lower-case name used in files and messages. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The roles named in {@code csv}, e.g. {@code scorer,reader}; {@code all} is every role.
   *
   * @throws IllegalArgumentException naming the unknown role and the choices
   */
  public static Set<Role> parseAll(String csv) {
    if (csv.strip().equals("all")) {
      return EnumSet.allOf(Role.class);
    }
    Set<Role> roles = EnumSet.noneOf(Role.class);
    for (String name : csv.split(",")) {
      String n = name.strip();
      try {
        roles.add(valueOf(n.toUpperCase(Locale.ROOT)));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "unknown role '" + n + "'; roles are " + labels(EnumSet.allOf(Role.class)) + " or all");
      }
    }
    return roles;
  }

  /** {@code producer, reader} */
  public static String labels(Set<Role> roles) {
    return roles.isEmpty()
        ? "none"
        : Arrays.stream(values())
            .filter(roles::contains)
            .map(Role::label)
            .collect(Collectors.joining(", "));
  }
}
