package dev.streamscore.modelsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.proto.v1.AliasState;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.NodeStatus;
import dev.streamscore.proto.v1.RegistryJournalEntry;
import dev.streamscore.proto.v1.SyncState;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry signs every version; a node that trusts its key loads nothing else, and keeps
 * serving what it had when a version's artifact or metadata was changed behind the registry's back.
 */
class SignedModelsTest {
  private static final FeatureSpec SPEC = FeatureSpec.shippedPayments();
  private static final int WIDTH = 3;

  @TempDir Path dir;
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  @Test
  void everyVersionIsSignedByTheRegistrysKeyOverItsDigestAndMetadata() throws Exception {
    Fixtures.Registry registry = registry();
    ModelVersion v1 = register(registry, 1f);
    PublicKey key = registry.server().signingKey();
    assertThat(v1.getSignature().getAlgorithm()).isEqualTo("Ed25519");
    assertThat(v1.getSignature().getKeyId()).isEqualTo(ModelSigning.keyId(key));
    assertThat(ModelSigning.verifyFailure(v1, key)).isEmpty();
    // The public key is on disk for nodes in other processes, and is the same after a restart.
    assertThat(ModelSigning.readPublicKey(dir.resolve("registry/signing/ed25519.pub")))
        .isEqualTo(key);
    registry.close();
    open.remove(registry);
    Fixtures.Registry again = registry();
    assertThat(again.server().signingKey()).isEqualTo(key);
    assertThat(ModelSigning.verifyFailure(again.client().model("fraud").getVersions(0), key))
        .isEmpty();

    assertThat(ModelSigning.verifyFailure(v1.toBuilder().setSha256("0".repeat(64)).build(), key))
        .hasValueSatisfying(why -> assertThat(why).contains("does not verify"));
    assertThat(
            ModelSigning.verifyFailure(
                v1.toBuilder().setSpec(v1.getSpec().toBuilder().setPositiveOutput("other")).build(),
                key))
        .hasValueSatisfying(why -> assertThat(why).contains("does not verify"));
    assertThat(ModelSigning.verifyFailure(v1.toBuilder().clearSignature().build(), key))
        .hasValueSatisfying(why -> assertThat(why).contains("not signed"));
    PublicKey other = KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPublic();
    assertThat(ModelSigning.verifyFailure(v1, other))
        .hasValueSatisfying(
            why ->
                assertThat(why)
                    .isEqualTo(
                        "it is signed by key "
                            + ModelSigning.keyId(key)
                            + "; this node trusts key "
                            + ModelSigning.keyId(other)));
  }

  @Test
  void aTamperedArtifactOrMetadataIsRefusedAndTheNodeKeepsServingTheGoodVersion() throws Exception {
    Fixtures.Registry registry = registry();
    PublicKey key = registry.server().signingKey();
    register(registry, 1f);
    ModelVersion bytesChanged = register(registry, 2f);
    ModelVersion metadataChanged = register(registry, 3f);
    ModelVersion unsigned = register(registry, 4f);
    try (RandomAccessFile f =
        new RandomAccessFile(
            dir.resolve("registry/artifacts/sha256").resolve(bytesChanged.getSha256()).toFile(),
            "rw")) {
      f.seek(f.length() / 2);
      int b = f.read();
      f.seek(f.length() / 2);
      f.write(b ^ 0xff);
    }
    // Metadata changed on disk behind the registry's back: v3's output renamed, v4 unsigned.
    registry.close();
    open.remove(registry);
    rewriteJournal(
        entry -> {
          if (!entry.hasVersion()) {
            return entry;
          }
          ModelVersion v = entry.getVersion();
          if (v.getVersion() == metadataChanged.getVersion()) {
            v =
                v.toBuilder()
                    .setSpec(
                        v.getSpec().toBuilder()
                            .setOutputs(0, ModelOutput.newBuilder().setName("renamed")))
                    .build();
          } else if (v.getVersion() == unsigned.getVersion()) {
            v = v.toBuilder().clearSignature().build();
          }
          return entry.toBuilder().setVersion(v).build();
        });
    Fixtures.Registry reopened = registry();
    SyncAgent node = agent(reopened, Optional.of(key));
    long revision = promote(reopened, 1).getRevision();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> node.servingRevision("fraud", "prod") >= revision);

    assertRefused(node, reopened, bytesChanged, "sha256 mismatch");
    assertRefused(node, reopened, metadataChanged, "its signature does not verify");
    assertRefused(node, reopened, unsigned, "it is not signed");
  }

  @Test
  void aNodeTrustingAnotherKeyLoadsNothing() throws Exception {
    Fixtures.Registry registry = registry();
    ModelVersion v1 = register(registry, 1f);
    PublicKey other = KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPublic();
    SyncAgent node = agent(registry, Optional.of(other));
    AliasState state = registry.client().promote("fraud", "prod", v1.getVersion());
    awaitFailed(node, state.getRevision());
    assertThat(node.status("fraud", "prod").error()).contains("this node trusts key");
    assertThat(node.status("fraud", "prod").servingVersions()).isEmpty();
  }

  @Test
  void keyFilesThatAreNotEd25519KeysAreNamed() throws Exception {
    Path junk = Files.write(dir.resolve("junk.pub"), new byte[] {(byte) 0xff, 0, 7});
    assertThatThrownBy(() -> ModelSigning.readPublicKey(junk))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("junk.pub is not an Ed25519 public key");
    Path rsa =
        Files.writeString(
            dir.resolve("rsa.pub"),
            "-----BEGIN PUBLIC KEY-----\n"
                + java.util.Base64.getMimeEncoder()
                    .encodeToString(
                        KeyPairGenerator.getInstance("RSA")
                            .generateKeyPair()
                            .getPublic()
                            .getEncoded())
                + "\n-----END PUBLIC KEY-----\n");
    assertThatThrownBy(() -> ModelSigning.readPublicKey(rsa))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("rsa.pub is not an Ed25519 public key");
    // A registry whose key files do not belong together refuses to start.
    Fixtures.Registry first = registry();
    first.close();
    open.remove(first);
    Files.writeString(
        dir.resolve("registry/signing/ed25519.pub"),
        "-----BEGIN PUBLIC KEY-----\n"
            + java.util.Base64.getMimeEncoder()
                .encodeToString(
                    KeyPairGenerator.getInstance("Ed25519")
                        .generateKeyPair()
                        .getPublic()
                        .getEncoded())
            + "\n-----END PUBLIC KEY-----\n");
    assertThatThrownBy(this::registry).hasMessageContaining("is not the public key of");
  }

  private Fixtures.Registry registry() {
    Fixtures.Registry r = Fixtures.Registry.start(dir.resolve("registry"), Optional.empty(), "ci");
    open.add(r);
    return r;
  }

  private SyncAgent agent(Fixtures.Registry registry, Optional<PublicKey> trusted) {
    SyncAgent agent =
        SyncAgent.start(
            SyncAgent.Config.of(
                    "n1", List.of(new ModelAlias("fraud", "prod")), dir.resolve("cache"))
                .withPollInterval(Duration.ofMillis(200))
                .withTrustedSigner(trusted),
            registry.channel(),
            SPEC,
            Clock.systemUTC());
    open.add(agent);
    return agent;
  }

  private ModelVersion register(Fixtures.Registry registry, float constant) throws Exception {
    Path file = TestModels.constant(dir.resolve("m" + constant + ".onnx"), WIDTH, constant);
    return registry.client().register(file, Fixtures.spec("fraud", WIDTH, 1));
  }

  private static AliasState promote(Fixtures.Registry registry, long version) {
    return registry.client().promote("fraud", "prod", version);
  }

  private void rewriteJournal(UnaryOperator<RegistryJournalEntry> change) throws Exception {
    Path journal = dir.resolve("registry/journal");
    List<RegistryJournalEntry> entries = new ArrayList<>();
    try (InputStream in = Files.newInputStream(journal)) {
      RegistryJournalEntry e;
      while ((e = RegistryJournalEntry.parseDelimitedFrom(in)) != null) {
        entries.add(change.apply(e));
      }
    }
    try (OutputStream out = Files.newOutputStream(journal)) {
      for (RegistryJournalEntry e : entries) {
        e.writeDelimitedTo(out);
      }
    }
  }

  /** Until the node has tried {@code revision} and failed it. */
  private static void awaitFailed(SyncAgent node, long revision) {
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                node.status("fraud", "prod").attemptedRevision() == revision
                    && node.status("fraud", "prod").state() == SyncState.SYNC_STATE_FAILED);
  }

  private static void assertRefused(
      SyncAgent node, Fixtures.Registry registry, ModelVersion bad, String reason) {
    AliasState state = registry.client().promote("fraud", "prod", bad.getVersion());
    awaitFailed(node, state.getRevision());
    assertThat(node.status("fraud", "prod").error()).contains(reason);
    assertThat(node.status("fraud", "prod").servingVersions()).containsExactly(1L);
    try (Lease lease = node.acquire("fraud", "prod", "k")) {
      assertThat(lease.predict(new float[WIDTH])[0]).isEqualTo(1f);
    }
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              NodeStatus reported = registry.client().nodeStatuses("fraud").get(0);
              assertThat(reported.getAttemptedRevision()).isEqualTo(state.getRevision());
              assertThat(reported.getError().getMessage()).contains(reason);
            });
    registry.client().rollback("fraud", "prod", "refused by nodes");
  }
}
