package dev.streamscore.proto.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Who may call: identities with their roles and the credential each proves itself with — a client
 * certificate whose subject CN is the identity's name, or a bearer token known by its SHA-256 only
 * (the policy file never holds a token) — and the roles of a caller with no credential at all.
 *
 * <p>The file, one identity per line ({@code #} starts a comment):
 *
 * <pre>
 * # name     roles              credential
 * scoring-1  node               cert
 * alice      operator,publisher token-sha256:9f86d081884c7d65...
 * anonymous  none               none
 * </pre>
 *
 * Roles are {@code producer, reader, scorer, publisher, operator, node}, {@code all} or {@code
 * none}; the line named {@code anonymous} with credential {@code none} gives callers without a
 * credential its roles (none when absent).
 */
public final class AccessPolicy {
  /** A caller as the policy knows it. */
  public record Identity(String name, Set<Role> roles) {
    public Identity {
      if (!NAME.matcher(Objects.requireNonNull(name, "name")).matches()) {
        throw new IllegalArgumentException(
            "identity name must be 1-128 of letters, digits and . _ - @ :, got '" + name + "'");
      }
      roles = roles.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(roles));
    }
  }

  /** The anonymous identity's name. */
  public static final String ANONYMOUS = "anonymous";

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._@:-]{1,128}");
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  private final Map<String, Identity> byTokenHash;
  private final Map<String, Identity> byCertificateName;
  private final Identity anonymous;

  private AccessPolicy(
      Map<String, Identity> byTokenHash, Map<String, Identity> byCertificateName, Identity anon) {
    this.byTokenHash = Map.copyOf(byTokenHash);
    this.byCertificateName = Map.copyOf(byCertificateName);
    this.anonymous = anon;
  }

  /** Every caller may do everything: the embedded default, on 127.0.0.1. */
  public static AccessPolicy open() {
    return new AccessPolicy(Map.of(), Map.of(), new Identity(ANONYMOUS, EnumSet.allOf(Role.class)));
  }

  /**
   * One shared token, the registry's {@code --registry-token}: its holder ({@code token-holder})
   * has every role; callers without it produce, read features, score and read the registry.
   */
  public static AccessPolicy sharedToken(String token) {
    return new AccessPolicy(
        Map.of(sha256(token), new Identity("token-holder", EnumSet.allOf(Role.class))),
        Map.of(),
        new Identity(ANONYMOUS, EnumSet.of(Role.PRODUCER, Role.READER, Role.SCORER)));
  }

  /**
   * The policy in {@code file}.
   *
   * @throws IllegalArgumentException naming the file, line and what is wrong with it
   * @throws UncheckedIOException when it cannot be read
   */
  public static AccessPolicy load(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(file + " is not UTF-8 text", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read access policy " + file + ": " + e, e);
    }
    Map<String, Identity> tokens = new HashMap<>();
    Map<String, Identity> certs = new HashMap<>();
    Identity anon = new Identity(ANONYMOUS, Set.of());
    Set<String> names = new HashSet<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).replaceFirst("#.*", "").strip();
      if (line.isEmpty()) {
        continue;
      }
      String where = file + " line " + (i + 1) + ": ";
      String[] f = line.split("\\s+");
      if (f.length != 3) {
        throw new IllegalArgumentException(
            where + "expected '<name> <roles> <credential>', got '" + line + "'");
      }
      Identity identity;
      try {
        identity = new Identity(f[0], f[1].equals("none") ? Set.of() : Role.parseAll(f[1]));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(where + e.getMessage(), e);
      }
      if (!names.add(identity.name())) {
        throw new IllegalArgumentException(where + "'" + identity.name() + "' is named twice");
      }
      String credential = f[2];
      if (credential.equals("none")) {
        if (!identity.name().equals(ANONYMOUS)) {
          throw new IllegalArgumentException(
              where + "only '" + ANONYMOUS + "' may have credential none");
        }
        anon = identity;
      } else if (identity.name().equals(ANONYMOUS)) {
        throw new IllegalArgumentException(where + "'" + ANONYMOUS + "' must have credential none");
      } else if (credential.equals("cert")) {
        certs.put(identity.name(), identity);
      } else if (credential.startsWith("token-sha256:")) {
        String hash = credential.substring("token-sha256:".length());
        if (!SHA256.matcher(hash).matches()) {
          throw new IllegalArgumentException(
              where + "token-sha256: needs 64 lower-case hex digits, got '" + hash + "'");
        }
        if (tokens.putIfAbsent(hash, identity) != null) {
          throw new IllegalArgumentException(where + "this token hash is used twice");
        }
      } else {
        throw new IllegalArgumentException(
            where
                + "credential must be cert, token-sha256:<hex> or none, got '"
                + credential
                + "'");
      }
    }
    return new AccessPolicy(tokens, certs, anon);
  }

  /** This policy with one more identity holding {@code token} (a process's own clients). */
  public AccessPolicy withToken(String token, Identity identity) {
    Map<String, Identity> tokens = new HashMap<>(byTokenHash);
    tokens.put(sha256(token), identity);
    return new AccessPolicy(tokens, byCertificateName, anonymous);
  }

  /** Who holds {@code token}, if anyone. */
  public Optional<Identity> byToken(String token) {
    return Optional.ofNullable(byTokenHash.get(sha256(token)));
  }

  /** The identity a client certificate with subject CN {@code name} proves, if any. */
  public Optional<Identity> byCertificate(String name) {
    return Optional.ofNullable(byCertificateName.get(name));
  }

  /** A caller without a credential. */
  public Identity anonymous() {
    return anonymous;
  }

  /** Whether every caller may do everything ({@link #open()}). */
  public boolean isOpen() {
    return anonymous.roles().size() == Role.values().length;
  }

  /** The hex SHA-256 of {@code token}, as the policy file holds it. */
  public static String sha256(String token) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
