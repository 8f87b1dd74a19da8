package dev.streamscore.proto.security;

import dev.streamscore.proto.Daemons;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import io.grpc.util.CertificateUtils;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Key and trust managers read from PEM files and read again when the files change (looked at every
 * {@value #RELOAD_SECONDS} seconds), so a renewed certificate is served to new connections without
 * a restart. One manager per file set per process: the platform's servers share one, and its check
 * lives as long as the process (a daemon thread). A changed file that cannot be used (half-written,
 * or a key that does not match its certificate) is logged and the one before stays.
 *
 * <p>gRPC's own file watching has a one-minute floor; these checks are ours.
 */
final class TlsFiles {
  static final int RELOAD_SECONDS = 5;

  private static final Logger log = LoggerFactory.getLogger(TlsFiles.class);
  private static final Map<List<Path>, AdvancedTlsX509KeyManager> KEYS = new ConcurrentHashMap<>();
  private static final Map<Path, AdvancedTlsX509TrustManager> TRUST = new ConcurrentHashMap<>();
  private static final ScheduledExecutorService RELOADER = Daemons.scheduler("tls-reload");

  private TlsFiles() {}

  /**
   * The identity in {@code certificate} (PEM chain, leaf first) and {@code key} (PKCS#8 PEM).
   *
   * @throws IllegalArgumentException naming the files when they cannot be read or do not match
   */
  static AdvancedTlsX509KeyManager keys(Path certificate, Path key) {
    List<Path> files = List.of(certificate.toAbsolutePath(), key.toAbsolutePath());
    return KEYS.computeIfAbsent(
        files,
        f -> {
          AdvancedTlsX509KeyManager manager = new AdvancedTlsX509KeyManager();
          Runnable load =
              () -> {
                Identity identity = readIdentity(f.get(0), f.get(1));
                manager.updateIdentityCredentials(identity.chain(), identity.key());
              };
          try {
            load.run();
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                "cannot use certificate "
                    + certificate
                    + " with key "
                    + key
                    + ": "
                    + e.getMessage(),
                e);
          }
          watch(f, load);
          return manager;
        });
  }

  /**
   * Trust in the CA certificates of {@code ca} (PEM).
   *
   * @throws IllegalArgumentException naming the file when it cannot be read
   */
  static AdvancedTlsX509TrustManager trust(Path ca) {
    return TRUST.computeIfAbsent(
        ca.toAbsolutePath(),
        f -> {
          AdvancedTlsX509TrustManager manager;
          try {
            manager =
                AdvancedTlsX509TrustManager.newBuilder()
                    .setVerification(
                        AdvancedTlsX509TrustManager.Verification
                            .CERTIFICATE_AND_HOST_NAME_VERIFICATION)
                    .build();
          } catch (GeneralSecurityException e) {
            throw new IllegalStateException("TLS is not available: " + e, e);
          }
          Runnable load =
              () -> {
                try {
                  manager.updateTrustCredentials(certificates(f));
                } catch (IOException | GeneralSecurityException e) {
                  throw new IllegalArgumentException(e.toString(), e);
                }
              };
          try {
            load.run();
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                "cannot use CA certificates " + ca + ": " + e.getMessage(), e);
          }
          watch(List.of(f), load);
          return manager;
        });
  }

  private record Identity(X509Certificate[] chain, PrivateKey key) {}

  private static Identity readIdentity(Path certificate, Path key) {
    X509Certificate[] chain = certificates(certificate);
    PrivateKey privateKey;
    try (InputStream in = Files.newInputStream(key)) {
      privateKey = CertificateUtils.getPrivateKey(in);
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw new IllegalArgumentException("cannot read key " + key + ": " + e, e);
    }
    try {
      byte[] probe = "streamscore".getBytes(StandardCharsets.UTF_8);
      String algorithm =
          privateKey.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
      Signature sign = Signature.getInstance(algorithm);
      sign.initSign(privateKey);
      sign.update(probe);
      byte[] signature = sign.sign();
      Signature verify = Signature.getInstance(algorithm);
      verify.initVerify(chain[0].getPublicKey());
      verify.update(probe);
      if (!verify.verify(signature)) {
        throw new IllegalArgumentException("key " + key + " does not match " + certificate);
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "key " + key + " does not match " + certificate + ": " + e, e);
    }
    return new Identity(chain, privateKey);
  }

  private static X509Certificate[] certificates(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      X509Certificate[] chain = CertificateUtils.getX509Certificates(in);
      if (chain.length == 0) {
        throw new IllegalArgumentException(file + " holds no certificate");
      }
      return chain;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot read certificates " + file + ": " + e, e);
    }
  }

  /** Runs {@code load} again whenever any of {@code files} has a new modification time. */
  private static void watch(List<Path> files, Runnable load) {
    RELOADER.scheduleWithFixedDelay(
        new Watch(files, load), RELOAD_SECONDS, RELOAD_SECONDS, TimeUnit.SECONDS);
  }

  /** One file set's check; runs on the reloader's one thread only. */
  private static final class Watch implements Runnable {
    private final List<Path> files;
    private final Runnable load;
    private List<Long> loaded;
    private List<Long> rejected = List.of();

    Watch(List<Path> files, Runnable load) {
      this.files = files;
      this.load = load;
      this.loaded = times(files);
    }

    @Override
    public void run() {
      List<Long> now = times(files);
      if (now.equals(loaded) || now.equals(rejected)) {
        return;
      }
      try {
        load.run();
        loaded = now;
        log.info("TLS files {} reloaded", files);
      } catch (RuntimeException e) {
        rejected = now;
        log.warn(
            "TLS files {} changed but cannot be used; keeping the ones before: {}",
            files,
            e.getMessage());
      }
    }
  }

  private static List<Long> times(List<Path> files) {
    List<Long> times = new ArrayList<>();
    for (Path f : files) {
      try {
        times.add(Files.getLastModifiedTime(f).toMillis());
      } catch (IOException e) {
        times.add(-1L);
      }
    }
    return times;
  }
}
