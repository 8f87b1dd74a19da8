package dev.streamscore.proto.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.proto.v1.FeatureServiceGrpc;
import dev.streamscore.proto.v1.IngestGrpc;
import dev.streamscore.proto.v1.ModelRegistryGrpc;
import dev.streamscore.proto.v1.ScoringGrpc;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AccessPolicyTest {
  @TempDir Path dir;

  @Test
  void everyRpcOfEveryServiceHasARule() {
    for (ServiceDescriptor service :
        List.of(
            IngestGrpc.getServiceDescriptor(),
            FeatureServiceGrpc.getServiceDescriptor(),
            ScoringGrpc.getServiceDescriptor(),
            ModelRegistryGrpc.getServiceDescriptor())) {
      for (MethodDescriptor<?, ?> m : service.getMethods()) {
        assertThat(Rpcs.rule(m.getFullMethodName())).as(m.getFullMethodName()).isPresent();
      }
    }
    assertThat(Rpcs.rule("streamscore.v1.Unknown/Call")).isEmpty();
    assertThat(Rpcs.rule("grpc.health.v1.Health/Check").orElseThrow().permits(Set.of())).isTrue();
  }

  @Test
  void readsTokensCertificatesAndAnonymous() throws Exception {
    String hash = AccessPolicy.sha256("s3cret");
    AccessPolicy p =
        load(
            "# comment\n\n"
                + "scoring-1   node              cert   # trailing comment\n"
                + "alice       operator,publisher token-sha256:"
                + hash
                + "\n"
                + "anonymous   scorer            none\n");
    assertThat(p.byCertificate("scoring-1").orElseThrow().roles()).containsExactly(Role.NODE);
    assertThat(p.byToken("s3cret").orElseThrow().name()).isEqualTo("alice");
    assertThat(p.byToken("s3cret").orElseThrow().roles())
        .containsExactlyInAnyOrder(Role.OPERATOR, Role.PUBLISHER);
    assertThat(p.byToken("S3cret")).isEmpty();
    assertThat(p.byCertificate("alice")).isEmpty();
    assertThat(p.anonymous().roles()).containsExactly(Role.SCORER);
    assertThat(p.isOpen()).isFalse();
    assertThat(AccessPolicy.open().isOpen()).isTrue();
  }

  @Test
  void aPolicyWithoutAnonymousGivesItNoRoles() throws Exception {
    assertThat(load("n all cert\n").anonymous().roles()).isEmpty();
    assertThat(load("n all cert\n").byCertificate("n").orElseThrow().roles())
        .isEqualTo(EnumSet.allOf(Role.class));
  }

  @Test
  void everyMistakeIsNamedWithItsLine() {
    String h = AccessPolicy.sha256("t");
    assertRejected("a b\n", "line 1: expected '<name> <roles> <credential>'");
    assertRejected("ok node cert\nx superuser cert\n", "line 2: unknown role 'superuser'");
    assertRejected("x node password:abc\n", "credential must be cert, token-sha256:<hex> or none");
    assertRejected("x node token-sha256:ABC\n", "needs 64 lower-case hex digits");
    assertRejected("x node none\n", "only 'anonymous' may have credential none");
    assertRejected("anonymous node cert\n", "'anonymous' must have credential none");
    assertRejected("x node cert\nx reader cert\n", "line 2: 'x' is named twice");
    assertRejected(
        "x node token-sha256:" + h + "\ny reader token-sha256:" + h + "\n",
        "this token hash is used twice");
    assertRejected("x".repeat(129) + " node cert\n", "identity name must be 1-128");
    assertRejected("bad/name node cert\n", "identity name must be");
    assertRejected("\u00e9t\u00e9 node cert\n", "identity name must be");
  }

  @Test
  void randomBytesAreRejectedNotCrashedOn() throws Exception {
    java.util.Random random = new java.util.Random(24);
    for (int i = 0; i < 200; i++) {
      byte[] bytes = new byte[random.nextInt(300)];
      random.nextBytes(bytes);
      Path f = dir.resolve("random-" + i);
      Files.write(f, bytes);
      try {
        AccessPolicy.load(f);
      } catch (IllegalArgumentException expected) {
        assertThat(expected.getMessage()).contains(f.toString());
      }
    }
  }

  @Test
  void aPolicyFileIsReadAgainWhenItChangesButNotWhenItBreaks() throws Exception {
    Path f = dir.resolve("access.policy");
    Files.writeString(f, "a reader cert\n");
    AtomicLong nanos = new AtomicLong();
    PolicyFile file = new PolicyFile(f, nanos::get);
    assertThat(file.get().byCertificate("a").orElseThrow().roles()).containsExactly(Role.READER);

    write(f, "a scorer cert\n", 1);
    assertThat(file.get().byCertificate("a").orElseThrow().roles())
        .as("not looked at again within a second")
        .containsExactly(Role.READER);
    nanos.addAndGet(1_000_000_000L);
    assertThat(file.get().byCertificate("a").orElseThrow().roles()).containsExactly(Role.SCORER);

    write(f, "a all\n", 2);
    nanos.addAndGet(1_000_000_000L);
    assertThat(file.get().byCertificate("a").orElseThrow().roles())
        .as("a broken file keeps the policy before it")
        .containsExactly(Role.SCORER);

    write(f, "a node cert\n", 3);
    nanos.addAndGet(1_000_000_000L);
    assertThat(file.get().byCertificate("a").orElseThrow().roles()).containsExactly(Role.NODE);
  }

  @Test
  void theSharedRegistryTokenHoldsEveryRoleAndOthersOnlyUseThePlatform() {
    AccessPolicy p = AccessPolicy.sharedToken("t0k");
    assertThat(p.byToken("t0k").orElseThrow().roles()).isEqualTo(EnumSet.allOf(Role.class));
    assertThat(p.anonymous().roles())
        .containsExactlyInAnyOrder(Role.PRODUCER, Role.READER, Role.SCORER);
  }

  private static void write(Path f, String text, int second) throws Exception {
    Files.writeString(f, text);
    // File times may be coarse: make each version's time distinct.
    Files.setLastModifiedTime(
        f, FileTime.from(Instant.parse("2026-01-01T00:00:00Z").plusSeconds(second)));
  }

  private AccessPolicy load(String text) throws Exception {
    Path f = dir.resolve("p-" + text.hashCode());
    Files.writeString(f, text);
    return AccessPolicy.load(f);
  }

  private void assertRejected(String text, String why) {
    assertThatThrownBy(() -> load(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(why);
  }
}
