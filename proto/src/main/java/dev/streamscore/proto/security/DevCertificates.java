package dev.streamscore.proto.security;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A development CA and everything a secured platform needs from it, in one directory:
 *
 * <ul>
 *   <li>{@code ca.pem}, {@code ca.key}: the CA (EC P-256), which clients trust and whose client
 *       certificates servers accept;
 *   <li>{@code server.pem} (chain: leaf, CA), {@code server.key}: for every server, valid for
 *       {@code localhost}, {@code 127.0.0.1}, {@code ::1}, this host's name and any names given;
 *   <li>{@code <role>.pem}, {@code <role>.key} for each role: a client certificate with CN {@code
 *       <role>};
 *   <li>{@code <role>.token}: a random bearer token per role;
 *   <li>{@code access.policy}: each role's certificate identity ({@code <role>}) and token identity
 *       ({@code <role>-token}) with that one role, and no roles for anonymous callers.
 * </ul>
 *
 * Keys and tokens are readable by their owner only. Certificates are valid for {@link #VALIDITY}.
 * For production, bring certificates from your own CA; the policy format stays the same.
 */
public final class DevCertificates {
  /** How long the certificates are valid from now. */
  public static final Duration VALIDITY = Duration.ofDays(365);

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String SIGNATURE = "SHA256withECDSA";

  private DevCertificates() {}

  /**
   * Writes the files into {@code dir}, creating it.
   *
   * @param serverNames more DNS names or IP addresses the server certificate is valid for
   * @return the files written
   * @throws IllegalStateException when {@code dir} already holds a CA (it is never overwritten)
   */
  public static List<Path> init(Path dir, List<String> serverNames, Clock clock) {
    try {
      Files.createDirectories(dir);
      if (Files.exists(dir.resolve("ca.key"))) {
        throw new IllegalStateException(
            dir + " already holds a CA (ca.key); choose an empty directory");
      }
      List<Path> written = new ArrayList<>();
      Instant now = clock.instant();
      KeyPair ca = keyPair();
      X500Name caName = new X500Name("CN=streamscore development CA");
      X509Certificate caCert =
          sign(caName, caName, ca.getPublic(), ca, now, new BasicConstraints(0), List.of());
      written.add(writePem(dir.resolve("ca.pem"), false, caCert));
      written.add(
          writePem(dir.resolve("ca.key"), true, new JcaPKCS8Generator(ca.getPrivate(), null)));

      KeyPair server = keyPair();
      List<GeneralName> names = new ArrayList<>();
      names.add(new GeneralName(GeneralName.dNSName, "localhost"));
      names.add(new GeneralName(GeneralName.iPAddress, "127.0.0.1"));
      names.add(new GeneralName(GeneralName.iPAddress, "::1"));
      String host = InetAddress.getLocalHost().getHostName();
      if (!host.equals("localhost")) {
        names.add(new GeneralName(GeneralName.dNSName, host));
      }
      for (String name : serverNames) {
        names.add(
            new GeneralName(
                name.matches("[0-9.]+|.*:.*") ? GeneralName.iPAddress : GeneralName.dNSName, name));
      }
      X509Certificate serverCert =
          sign(
              new X500Name("CN=streamscore server"),
              caName,
              server.getPublic(),
              ca,
              now,
              new BasicConstraints(false),
              names,
              // Client authentication too: a platform's own clients present it under mTLS.
              KeyPurposeId.id_kp_serverAuth,
              KeyPurposeId.id_kp_clientAuth);
      written.add(writePem(dir.resolve("server.pem"), false, serverCert, caCert));
      written.add(
          writePem(
              dir.resolve("server.key"), true, new JcaPKCS8Generator(server.getPrivate(), null)));

      StringBuilder policy =
          new StringBuilder(
              "# streamscore access policy made by 'streamscore certs init'\n"
                  + "# <name> <roles> <credential>: cert (client certificate CN=<name>),\n"
                  + "# token-sha256:<hex> (a bearer token), none (anonymous only)\n");
      for (Role role : Role.values()) {
        KeyPair client = keyPair();
        X509Certificate clientCert =
            sign(
                new X500Name("CN=" + role.label()),
                caName,
                client.getPublic(),
                ca,
                now,
                new BasicConstraints(false),
                List.of(),
                KeyPurposeId.id_kp_clientAuth);
        written.add(writePem(dir.resolve(role.label() + ".pem"), false, clientCert, caCert));
        written.add(
            writePem(
                dir.resolve(role.label() + ".key"),
                true,
                new JcaPKCS8Generator(client.getPrivate(), null)));
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        written.add(write(dir.resolve(role.label() + ".token"), true, token + "\n"));
        policy.append(String.format("%-16s %-10s cert%n", role.label(), role.label()));
        policy.append(
            String.format(
                "%-16s %-10s token-sha256:%s%n",
                role.label() + "-token", role.label(), AccessPolicy.sha256(token)));
      }
      policy.append(String.format("%-16s %-10s none%n", AccessPolicy.ANONYMOUS, "none"));
      written.add(write(dir.resolve("access.policy"), false, policy.toString()));
      return written;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write certificates to " + dir + ": " + e, e);
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot make certificates: " + e, e);
    }
  }

  private static KeyPair keyPair() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
    return g.generateKeyPair();
  }

  private static X509Certificate sign(
      X500Name subject,
      X500Name issuer,
      java.security.PublicKey key,
      KeyPair signer,
      Instant now,
      BasicConstraints constraints,
      List<GeneralName> names,
      KeyPurposeId... purposes)
      throws GeneralSecurityException, OperatorCreationException, IOException {
    X509v3CertificateBuilder b =
        new JcaX509v3CertificateBuilder(
            issuer,
            new BigInteger(128, RANDOM),
            Date.from(now.minus(Duration.ofHours(1))),
            Date.from(now.plus(VALIDITY)),
            subject,
            key);
    JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
    b.addExtension(Extension.basicConstraints, true, constraints);
    b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key));
    b.addExtension(
        Extension.authorityKeyIdentifier,
        false,
        ext.createAuthorityKeyIdentifier(signer.getPublic()));
    if (constraints.isCA()) {
      b.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    } else {
      b.addExtension(
          Extension.keyUsage,
          true,
          new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes));
    }
    if (!names.isEmpty()) {
      b.addExtension(
          Extension.subjectAlternativeName,
          false,
          new GeneralNames(names.toArray(GeneralName[]::new)));
    }
    return new JcaX509CertificateConverter()
        .getCertificate(b.build(new JcaContentSignerBuilder(SIGNATURE).build(signer.getPrivate())));
  }

  private static Path writePem(Path file, boolean secret, Object... objects) throws IOException {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter pem = new JcaPEMWriter(text)) {
      for (Object o : objects) {
        pem.writeObject(o);
      }
    }
    return write(file, secret, text.toString());
  }

  private static Path write(Path file, boolean secret, String text) throws IOException {
    if (Files.exists(file)) {
      throw new FileAlreadyExistsException(file.toString());
    }
    if (secret && file.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      Files.createFile(
          file,
          PosixFilePermissions.asFileAttribute(
              Set.of(
                  java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                  java.nio.file.attribute.PosixFilePermission.OWNER_WRITE)));
      Files.writeString(file, text, StandardCharsets.UTF_8);
    } else {
      Files.writeString(file, text, StandardCharsets.UTF_8);
    }
    return file;
  }
}
