package dev.streamscore.scoring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamscore.etl.GoldenStream;
import dev.streamscore.etl.PointInTimeRule;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.etl.TopicNames;
import dev.streamscore.modelsync.ModelAlias;
import dev.streamscore.modelsync.OnnxModel;
import dev.streamscore.modelsync.TestModels;
import dev.streamscore.proto.Messages;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.Prediction;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The acceptance of the log-order rule on the golden stream (disorder within and past the allowed
 * lateness, near and far duplicates, nulls, out-of-range, wrongly typed and untransformable
 * values): stream scoring, its timelines in a real RocksDB state store, scores every event; the
 * consistency check rebuilds every training row from the same log and finds each prediction's input
 * vector bit-identical.
 */
class StreamScoringConsistencyTest {
  private static final long START = 1_764_000_000_000L;

  /** Counts, a sum, distinct merchants, a max with a default, the daily count, the amount. */
  static ModelVersionSpec sixInputs() {
    ModelVersionSpec.Builder spec =
        ModelVersionSpec.newBuilder().setName("fraud").setFormat(ModelFormat.MODEL_FORMAT_ONNX);
    for (String f : List.of("txn_count_10m", "amount_sum_1h", "merchants_1h", "amount_max_10m")) {
      spec.addInputs(
          ModelInput.newBuilder()
              .setName("user_txn:" + f)
              .setView("user_txn")
              .setDefaultValue(f.startsWith("amount_max") ? -1 : 0));
    }
    spec.addInputs(
        ModelInput.newBuilder().setName("user_daily:txn_count_1d").setView("user_daily"));
    spec.addInputs(ModelInput.newBuilder().setName("amount").setDefaultValue(-1));
    spec.addOutputs(ModelOutput.newBuilder().setName("p0"));
    spec.addOutputs(ModelOutput.newBuilder().setName("p1"));
    return spec.build();
  }

  @Test
  void everyStreamPredictionOfTheGoldenStreamIsItsTrainingRow(@TempDir Path dir) throws Exception {
    try (Node node = new Node(dir)) {
      node.client.register(TestModels.logisticRegression(dir.resolve("m.onnx"), 6, 1), sixInputs());
      node.awaitServing(node.client.promote("fraud", "prod", 1).getRevision());
      StreamScoring.Config config =
          new StreamScoring.Config(
              "unused:9092",
              "payments",
              new ModelAlias("fraud", "prod"),
              dir.resolve("streams"),
              TopicNames.DLQ);
      Properties props = new Properties();
      props.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
      props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
      props.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state").toString());
      StreamScoring.Tally tally = new StreamScoring.Tally();
      List<Event> golden = GoldenStream.generate(5, 4_000, 30, START, 3 * 3_600_000L);
      List<Prediction> predictions;
      long dlq;
      try (TopologyTestDriver driver =
          new TopologyTestDriver(
              StreamScoring.topology(config, node.node.scorer(), () -> true, Node.CLOCK, tally),
              props,
              Instant.ofEpochMilli(START))) {
        TestInputTopic<String, byte[]> events =
            driver.createInputTopic(
                TopicNames.events("payments"), new StringSerializer(), new ByteArraySerializer());
        for (Event e : golden) {
          events.pipeInput(e.getEntityId(), e.toByteArray());
        }
        predictions =
            driver
                .createOutputTopic(
                    TopicNames.predictions("fraud"),
                    new StringDeserializer(),
                    new ByteArrayDeserializer())
                .readValuesToList()
                .stream()
                .map(b -> Messages.parse(Prediction.parser(), b))
                .toList();
        dlq =
            driver
                .createOutputTopic(
                    TopicNames.DLQ, new StringDeserializer(), new ByteArrayDeserializer())
                .getQueueSize();
      }
      List<Consistency.Logged> log = new ArrayList<>();
      for (int i = 0; i < golden.size(); i++) {
        log.add(
            new Consistency.Logged(
                new RecordOrigin(TopicNames.events("payments"), 0, i), golden.get(i)));
      }

      Consistency.Report report;
      try (OnnxModel model = OnnxModel.load(dir.resolve("m.onnx"))) {
        report =
            new Consistency(Node.SPEC, "payments", PointInTimeRule.LOG_ORDER)
                .check(
                    log,
                    Map.of(1L, sixInputs()),
                    predictions,
                    (version, row) -> model.predictBatch(new float[][] {row})[0]);
      }

      // Count in = predictions + unscorable (an amount that is not a number).
      assertThat(predictions.size() + dlq).isEqualTo(golden.size());
      assertThat(dlq).isPositive().isLessThan(golden.size() / 50);
      assertThat(report.compared()).isEqualTo(predictions.size());
      assertThat(report.identical()).isEqualTo(report.compared());
      assertThat(report.scoresCompared()).isEqualTo(report.compared());
      assertThat(report.scoresIdentical()).isEqualTo(report.compared());
      // The live sampler agrees, whether a prediction is read before or after its event.
      for (boolean predictionsFirst : new boolean[] {false, true}) {
        ConsistencySampler sampler =
            new ConsistencySampler(
                Node.SPEC,
                "payments",
                "fraud",
                3,
                new io.prometheus.metrics.model.registry.PrometheusRegistry());
        java.util.function.LongFunction<ModelVersionSpec> versions =
            v -> v == 1 ? sixInputs() : null;
        if (predictionsFirst) {
          predictions.forEach(p -> sampler.onPrediction(p, versions));
        }
        log.forEach(l -> sampler.onEvent(l.origin(), l.event(), versions));
        if (!predictionsFirst) {
          predictions.forEach(p -> sampler.onPrediction(p, versions));
        }
        assertThat(sampler.sampledCount())
            .isBetween(predictions.size() / 10L, predictions.size() - 1L);
        assertThat(sampler.identicalCount()).isEqualTo(sampler.sampledCount());
      }
      // The old rule, which counts events logged after the prediction, differs on this stream.
      Consistency.Report eventTime =
          new Consistency(Node.SPEC, "payments", PointInTimeRule.EVENT_TIME)
              .check(log, Map.of(1L, sixInputs()), predictions);
      assertThat(eventTime.identical()).isLessThan(eventTime.compared());
      assertThat(eventTime.causes()).containsKey(Consistency.Cause.LATE_ARRIVALS);
    }
  }
}
