package dev.streamscore.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Options that would leave a platform open, or cannot work, stop it before anything starts. */
class SecurityOptionsTest {
  @TempDir Path dir;

  @Test
  void plaintextOnAnAddressOtherHostsReachIsRefusedUnlessInsecureIsSaid() {
    CliRun refused = CliRun.of("up", "--bind", "0.0.0.0");
    assertThat(refused.code()).isEqualTo(1);
    assertThat(refused.err())
        .isEqualTo(
            "streamscore: refusing to serve plaintext on 0.0.0.0, which other hosts can reach:"
                + " give --tls-cert and --tls-key (streamscore certs init makes them), or"
                + " --insecure to accept plaintext\n");
  }

  @Test
  void everyServingRoleRefusesPlaintextOffLoopback() {
    for (String role : List.of("registry", "gateway", "feature-store", "scoring-node")) {
      CliRun refused = CliRun.of(role, "--bind", "0.0.0.0");
      assertThat(refused.code()).as(role).isEqualTo(1);
      assertThat(refused.err())
          .as(role)
          .startsWith("streamscore: refusing to serve plaintext on 0.0.0.0")
          .hasLineCount(1);
    }
  }

  @Test
  void tlsOptionsThatCannotWorkAreNamed() throws Exception {
    Path certs = dir.resolve("certs");
    assertThat(CliRun.of("certs", "init", certs.toString()).code()).isZero();
    String cert = certs.resolve("server.pem").toString();
    String key = certs.resolve("server.key").toString();
    assertThat(CliRun.of("up", "--tls-cert", cert).err())
        .isEqualTo("streamscore: --tls-cert and --tls-key go together\n");
    assertThat(CliRun.of("up", "--tls-cert", cert, "--tls-key", key, "--require-client-cert").err())
        .isEqualTo("streamscore: --require-client-cert needs --tls-client-ca\n");
    assertThat(CliRun.of("up", "--tls-cert", cert, "--tls-key", key, "--insecure").err())
        .isEqualTo("streamscore: --insecure and --tls-cert exclude each other\n");
    // A key that is not the certificate's.
    String otherKey = certs.resolve("scorer.key").toString();
    assertThat(CliRun.of("up", "--tls-cert", cert, "--tls-key", otherKey).err())
        .startsWith("streamscore: cannot use certificate " + cert)
        .contains("does not match")
        .hasLineCount(1);
    Path policy = Files.writeString(dir.resolve("bad.policy"), "alice superuser cert\n");
    assertThat(
            CliRun.of("up", "--tls-cert", cert, "--tls-key", key, "--access", policy.toString())
                .err())
        .isEqualTo(
            "streamscore: "
                + policy
                + " line 1: unknown role 'superuser'; roles are"
                + " producer, reader, scorer, publisher, operator, node or all\n");
  }

  @Test
  void certsInitNeverOverwritesACa() throws Exception {
    Path certs = dir.resolve("certs");
    CliRun first = CliRun.of("certs", "init", certs.toString());
    assertThat(first.code()).isZero();
    String ca = Files.readString(certs.resolve("ca.pem"));
    CliRun again = CliRun.of("certs", "init", certs.toString());
    assertThat(again.code()).isEqualTo(1);
    assertThat(again.err()).contains("already holds a CA (ca.key)").hasLineCount(1);
    assertThat(Files.readString(certs.resolve("ca.pem"))).isEqualTo(ca);
    assertThat(Files.getPosixFilePermissions(certs.resolve("ca.key")))
        .containsExactlyInAnyOrder(
            java.nio.file.attribute.PosixFilePermission.OWNER_READ,
            java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
  }

  @Test
  void clientOptionsThatCannotWorkAreNamed() {
    assertThat(
            CliRun.of("models", "list", "--tls-client-cert", "a.pem", "--tls-client-key", "a.key")
                .err())
        .isEqualTo("streamscore: --tls-client-cert needs --tls-ca\n");
    assertThat(CliRun.of("models", "list", "--token-file", dir.resolve("absent").toString()).err())
        .startsWith("streamscore: cannot read --token-file")
        .hasLineCount(1);
  }
}
