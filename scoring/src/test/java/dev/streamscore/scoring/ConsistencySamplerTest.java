package dev.streamscore.scoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.MissingPolicy;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.Value;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;

class ConsistencySamplerTest {
  /** Inputs: txn_count_1h, amount_mean_1h (defaults -1), then the request's amount. */
  private static final ModelVersionSpec MODEL = Node.spec(MissingPolicy.MISSING_POLICY_USE_DEFAULT);

  private static final LongFunction<ModelVersionSpec> VERSIONS = v -> v == 1 ? MODEL : null;

  private static Event payment(int i) {
    return Event.newBuilder()
        .setSource("payments")
        .setEntityId("u1")
        .setEventId("t" + i)
        .setEventTimeMs(Node.T0 + i * 1_000L)
        .putFields("amount", Value.newBuilder().setDoubleValue(10.0 * (i + 1)).build())
        .putFields("merchant_id", Value.newBuilder().setStringValue("m" + i).build())
        .build();
  }

  /** Payment i's stream prediction serving {@code count}; its mean and amount are right. */
  private static Prediction served(int i, double count, long version) {
    return Prediction.newBuilder()
        .setRequestId("events.payments-0-" + i)
        .setNodeId("stream")
        .putEntityIds("user_id", "u1")
        .setModelName("fraud")
        .setModelVersion(version)
        .addFeatures(count)
        .addFeatures(i == 0 ? -1 : 5.0 * (i + 1))
        .addFeatures(10.0 * (i + 1))
        .build();
  }

  @Test
  void aPredictionThatDiffersFromItsTrainingRowIsCountedByInput() {
    PrometheusRegistry registry = new PrometheusRegistry();
    ConsistencySampler sampler =
        new ConsistencySampler(Node.SPEC, "payments", "fraud", 1, registry);
    for (int i = 0; i < 5; i++) {
      sampler.onEvent(new RecordOrigin("events.payments", 0, i), payment(i), VERSIONS);
    }
    for (int i = 0; i < 5; i++) {
      // Payment 3 served with itself counted.
      sampler.onPrediction(served(i, i == 3 ? 4 : i, 1), VERSIONS);
    }
    sampler.onPrediction(served(4, 4, 7), VERSIONS); // a version this node does not know
    sampler.onPrediction(served(9, 0, 1), VERSIONS); // its event has not been read yet

    assertThat(sampler.sampledCount()).isEqualTo(5);
    assertThat(sampler.identicalCount()).isEqualTo(4);
    CounterSnapshot differing =
        (CounterSnapshot)
            registry.scrape().stream()
                .filter(
                    m ->
                        m.getMetadata()
                            .getName()
                            .equals("streamscore_consistency_differing_inputs"))
                .findFirst()
                .orElseThrow();
    assertThat(differing.getDataPoints())
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.getLabels().get("input")).isEqualTo("user_txn:txn_count_1h");
              assertThat(d.getValue()).isEqualTo(1.0);
            });
  }

  @Test
  void aSampleOfLessThanOneIsRefused() {
    assertThatThrownBy(
            () ->
                new ConsistencySampler(Node.SPEC, "payments", "fraud", 0, new PrometheusRegistry()))
        .hasMessage("oneIn must be >= 1, got 0");
  }
}
