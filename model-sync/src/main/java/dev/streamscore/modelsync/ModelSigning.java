package dev.streamscore.modelsync;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.VersionSignature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;

/**
 * Ed25519 signatures of model versions: the registry signs each version it registers (the
 * artifact's sha256 and every field of its metadata), and a node that trusts the registry's public
 * key refuses a version whose signature is missing, from another key, or does not verify — so
 * neither a changed artifact (its bytes no longer match the signed sha256) nor changed metadata
 * (inputs, outputs, thresholds) is ever loaded.
 *
 * <p>Keys are PEM files: the private key PKCS#8 ({@code BEGIN PRIVATE KEY}), the public key X.509
 * ({@code BEGIN PUBLIC KEY}), as {@code openssl genpkey -algorithm ed25519} writes them.
 */
public final class ModelSigning {
  /** The algorithm of every signature. */
  public static final String ALGORITHM = "Ed25519";

  /** The key files' names in a registry's {@code signing/} directory. */
  static final String PRIVATE_FILE = "ed25519.key";

  /** The public key a node is given ({@code --model-signing-key}). */
  public static final String PUBLIC_FILE = "ed25519.pub";

  private final PrivateKey key;
  private final PublicKey publicKey;
  private final String keyId;

  private ModelSigning(PrivateKey key, PublicKey publicKey) {
    this.key = key;
    this.publicKey = publicKey;
    this.keyId = keyId(publicKey);
  }

  /**
   * The registry's signer: the key pair in {@code dir}, made there (private key readable by the
   * owner only) when it has none.
   *
   * @throws UncheckedIOException when the files cannot be read or written
   * @throws IllegalStateException when they are not an Ed25519 key pair
   */
  static ModelSigning openOrCreate(Path dir) {
    Path privateFile = dir.resolve(PRIVATE_FILE);
    Path publicFile = dir.resolve(PUBLIC_FILE);
    try {
      if (!Files.exists(privateFile)) {
        Files.createDirectories(dir);
        KeyPair pair = KeyPairGenerator.getInstance(ALGORITHM).generateKeyPair();
        Path staged = dir.resolve(PRIVATE_FILE + ".new");
        Files.deleteIfExists(staged);
        if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
          Files.createFile(
              staged,
              PosixFilePermissions.asFileAttribute(
                  Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE)));
        }
        Files.writeString(staged, pem("PRIVATE KEY", pair.getPrivate().getEncoded()));
        Files.writeString(publicFile, pem("PUBLIC KEY", pair.getPublic().getEncoded()));
        Files.move(staged, privateFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      }
      KeyFactory keys = KeyFactory.getInstance(ALGORITHM);
      PrivateKey privateKey =
          keys.generatePrivate(new PKCS8EncodedKeySpec(der(privateFile, "PRIVATE KEY")));
      PublicKey publicKey = readPublicKey(publicFile);
      ModelSigning signing = new ModelSigning(privateKey, publicKey);
      if (verifyFailure(signing.sign(ModelVersion.getDefaultInstance()), publicKey).isPresent()) {
        throw new IllegalStateException(publicFile + " is not the public key of " + privateFile);
      }
      return signing;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the signing key in " + dir + ": " + e, e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the signing key in " + dir + " is not Ed25519: " + e, e);
    }
  }

  /**
   * An Ed25519 public key from a PEM file ({@code BEGIN PUBLIC KEY}).
   *
   * @throws UncheckedIOException when it cannot be read
   * @throws IllegalArgumentException naming the file when it is not an Ed25519 public key
   */
  public static PublicKey readPublicKey(Path file) {
    try {
      return KeyFactory.getInstance(ALGORITHM)
          .generatePublic(new X509EncodedKeySpec(der(file, "PUBLIC KEY")));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the public key " + file + ": " + e, e);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IllegalArgumentException(file + " is not an Ed25519 public key (PEM): " + e, e);
    }
  }

  /** The public key nodes verify with. */
  public PublicKey publicKey() {
    return publicKey;
  }

  /** {@code version} with this key's signature over all its other fields. */
  ModelVersion sign(ModelVersion version) {
    try {
      Signature s = Signature.getInstance(ALGORITHM);
      s.initSign(key);
      s.update(payload(version));
      return version.toBuilder()
          .setSignature(
              VersionSignature.newBuilder()
                  .setAlgorithm(ALGORITHM)
                  .setKeyId(keyId)
                  .setValue(ByteString.copyFrom(s.sign())))
          .build();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign with Ed25519: " + e, e);
    }
  }

  /**
   * Why {@code version} must not be trusted under {@code trusted}, or empty when its signature
   * verifies.
   */
  public static Optional<String> verifyFailure(ModelVersion version, PublicKey trusted) {
    if (!version.hasSignature()) {
      return Optional.of("it is not signed; this node loads only versions the registry signed");
    }
    VersionSignature sig = version.getSignature();
    String expectedId = keyId(trusted);
    if (!sig.getAlgorithm().equals(ALGORITHM)) {
      return Optional.of("it is signed with " + sig.getAlgorithm() + ", not " + ALGORITHM);
    }
    if (!sig.getKeyId().equals(expectedId)) {
      return Optional.of(
          "it is signed by key " + sig.getKeyId() + "; this node trusts key " + expectedId);
    }
    try {
      Signature s = Signature.getInstance(ALGORITHM);
      s.initVerify(trusted);
      s.update(payload(version));
      if (!s.verify(sig.getValue().toByteArray())) {
        return Optional.of(
            "its signature does not verify: its metadata or artifact digest changed after the"
                + " registry signed it");
      }
      return Optional.empty();
    } catch (GeneralSecurityException e) {
      return Optional.of("its signature cannot be checked: " + e.getMessage());
    }
  }

  /** Hex of the first 8 bytes of the sha256 of the key's X.509 encoding. */
  public static String keyId(PublicKey key) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getEncoded());
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /** The version's deterministic encoding without its signature: what is signed. */
  private static byte[] payload(ModelVersion version) {
    ModelVersion unsigned = version.toBuilder().clearSignature().build();
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(unsigned.getSerializedSize());
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      out.useDeterministicSerialization();
      unsigned.writeTo(out);
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }

  private static byte[] der(Path file, String type) throws IOException {
    String text = Files.readString(file, StandardCharsets.ISO_8859_1);
    String begin = "-----BEGIN " + type + "-----";
    String end = "-----END " + type + "-----";
    int from = text.indexOf(begin);
    int to = text.indexOf(end);
    if (from < 0 || to < from) {
      throw new IllegalArgumentException("no '" + begin + "' block");
    }
    return Base64.getMimeDecoder().decode(text.substring(from + begin.length(), to));
  }
}
