package dev.streamscore.benchmarks;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.PointInTimeRule;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.Prediction;
import dev.streamscore.proto.v1.Value;
import dev.streamscore.scoring.Consistency;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * How long {@code streamscore consistency} takes for N stream predictions, the events log already
 * in memory (reading the topics is measured by the Kafka benchmarks): N payments of 100,000 users
 * over N/100 seconds, a tenth of them up to a minute out of order, each with one prediction of the
 * demo's nine-input model. No prediction carries its training row (zeros or small random counts):
 * every one differs and has its causes classified, the check's worst case.
 *
 * <p>{@code java -Xmx4g -cp benchmarks/target/streamscore-benchmarks.jar
 * dev.streamscore.benchmarks.ConsistencyCheck 1000000 [log-order|event-time|log-order,event-time]}
 */
public final class ConsistencyCheck {
  private static final long T0 = 1_764_000_000_000L;

  private ConsistencyCheck() {}

  public static void main(String[] args) {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    FeatureSpec spec = FeatureSpec.shippedPayments();
    ModelVersionSpec.Builder model =
        ModelVersionSpec.newBuilder().setName("fraud").setFormat(ModelFormat.MODEL_FORMAT_ONNX);
    // Seven stored inputs of user_txn, as the demo's model has, then two request-time fields.
    for (String f : spec.views().get("user_txn").features().keySet().stream().limit(7).toList()) {
      model.addInputs(ModelInput.newBuilder().setName("user_txn:" + f).setView("user_txn"));
    }
    model.addInputs(ModelInput.newBuilder().setName("amount"));
    model.addInputs(ModelInput.newBuilder().setName("card_present"));
    model.addOutputs(ModelOutput.newBuilder().setName("p0"));
    SplittableRandom random = new SplittableRandom(11);
    List<Event> events = new ArrayList<>(n);
    List<Prediction> predictions = new ArrayList<>(n);
    String[] countries = {"US", "GB", "DE", "FR"};
    String[] devices = {"ios", "android", "web", "pos"};
    for (int i = 0; i < n; i++) {
      long time = T0 + i * 10L - (random.nextInt(10) == 0 ? random.nextInt(60_000) : 0);
      double amount = Math.exp(3.4 + random.nextGaussian());
      events.add(
          Event.newBuilder()
              .setSource("payments")
              .setEntityId("u" + random.nextInt(100_000))
              .setEventId("t" + i)
              .setEventTimeMs(time)
              .putFields("amount", Value.newBuilder().setDoubleValue(amount).build())
              .putFields(
                  "merchant_id",
                  Value.newBuilder().setStringValue("m" + random.nextInt(5_000)).build())
              .putFields(
                  "country",
                  Value.newBuilder().setStringValue(countries[random.nextInt(4)]).build())
              .putFields(
                  "device", Value.newBuilder().setStringValue(devices[random.nextInt(4)]).build())
              .putFields(
                  "card_present", Value.newBuilder().setBoolValue(random.nextBoolean()).build())
              .build());
      Prediction.Builder p =
          Prediction.newBuilder()
              .setRequestId("events.payments-0-" + i)
              .setEventId("t" + i)
              .setEventTimeMs(time)
              .setModelName("fraud")
              .setModelVersion(1)
              .setNodeId("stream");
      for (int j = 0; j < model.getInputsCount(); j++) {
        p.addFeatures(i % 2 == 0 ? 0 : random.nextInt(10));
      }
      predictions.add(p.build());
    }
    List<Consistency.Logged> log = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      log.add(new Consistency.Logged(new RecordOrigin("events.payments", 0, i), events.get(i)));
    }
    events = null;
    String rules = args.length > 1 ? args[1] : "log-order";
    for (String option : rules.split(",")) {
      PointInTimeRule rule = PointInTimeRule.parse(option);
      long began = System.nanoTime();
      Consistency.Report report =
          new Consistency(spec, "payments", rule)
              .check(log, Map.of(1L, model.build()), predictions);
      double seconds = (System.nanoTime() - began) / 1e9;
      System.out.println(report.summary() + " (rule " + rule.option() + ")");
      System.out.printf(
          Locale.ROOT,
          "rule %s: checked %,d predictions against %,d events in %.1f s (%,.0f predictions/s)%n",
          rule.option(),
          report.compared(),
          log.size(),
          seconds,
          report.compared() / seconds);
    }
  }
}
