package dev.streamscore.kafka.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamscore.proto.security.DevCertificates;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedded broker with a SASL_SSL (SCRAM-SHA-256) client listener, as a secured cluster. */
class EmbeddedKafkaSaslIT {
  @TempDir Path dir;

  @Test
  void theRightUserProducesAndConsumesAndEveryoneElseIsRefused() throws Exception {
    EmbeddedKafkaConfig.SaslSsl sasl = saslSsl(dir);
    try (EmbeddedKafka kafka =
        EmbeddedKafka.start(EmbeddedKafkaConfig.defaults().withSaslSsl(sasl))) {
      assertThat(kafka.clientProperties()).containsEntry("security.protocol", "SASL_SSL");
      List<String> sent = TestClients.produce(kafka, "secured", 50);
      assertThat(
              TestClients.consume(kafka, "secured", sent.size(), java.time.Duration.ofSeconds(30)))
          .hasSameElementsAs(sent);

      Map<String, Object> wrongPassword = new HashMap<>(kafka.clientProperties());
      wrongPassword.put(
          "sasl.jaas.config",
          "org.apache.kafka.common.security.scram.ScramLoginModule required"
              + " username=\"streamscore\" password=\"not-the-password\";");
      assertThat(failure(wrongPassword)).isInstanceOf(SaslAuthenticationException.class);

      Map<String, Object> untrusted = new HashMap<>(kafka.clientProperties());
      Path other = dir.resolve("other");
      DevCertificates.init(other, List.of(), Clock.systemUTC());
      untrusted.put("ssl.truststore.location", other.resolve("ca.pem").toString());
      assertThat(failure(untrusted)).isInstanceOf(SslAuthenticationException.class);

      // Plaintext to the SASL_SSL port never gets an answer it can use.
      Map<String, Object> plaintext =
          Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
      assertThat(failure(plaintext))
          .isInstanceOf(org.apache.kafka.common.errors.TimeoutException.class);
    }
  }

  /** A development CA's server certificate as the broker's PEM key store, and one SCRAM user. */
  static EmbeddedKafkaConfig.SaslSsl saslSsl(Path dir) throws Exception {
    Path certs = dir.resolve("certs");
    DevCertificates.init(certs, List.of(), Clock.systemUTC());
    return new EmbeddedKafkaConfig.SaslSsl(
        certs.resolve("server.pem"),
        certs.resolve("server.key"),
        certs.resolve("ca.pem"),
        "streamscore",
        "kafka-s3cret");
  }

  /** What listing topics with {@code props} fails with; an AssertionError if it does not. */
  private static Throwable failure(Map<String, Object> props) throws Exception {
    Map<String, Object> p = new HashMap<>(props);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3_000);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000);
    try (Admin admin = Admin.create(p)) {
      admin.listTopics().names().get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    }
    throw new AssertionError("listing topics succeeded with " + props.keySet());
  }
}
