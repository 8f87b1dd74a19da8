package dev.streamscore.launcher;

import dev.streamscore.etl.FeatureSpec;
import dev.streamscore.etl.InMemoryTimeline;
import dev.streamscore.etl.LogOrderFeatures;
import dev.streamscore.modelsync.Profiles;
import dev.streamscore.modelsync.ServedModel;
import dev.streamscore.proto.v1.Event;
import dev.streamscore.proto.v1.FeatureStatus;
import dev.streamscore.proto.v1.FeatureValue;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.ReferenceProfile;
import dev.streamscore.proto.v1.Value;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The demo's fraud models' data: point-in-time training rows from the events log (each event's
 * features by the log-order rule, as stream scoring served them: the events before it in its
 * entity's log), the registry entry of a trained model, and its AUC as the scoring node would
 * compute it (through ONNX Runtime).
 */
final class TrainingSet {
  private TrainingSet() {}

  /** The model's inputs: stored features of user_txn, then request-time fields of the payment. */
  static final List<String> STORED =
      List.of(
          "txn_count_10m",
          "txn_count_1h",
          "amount_mean_1h",
          "amount_max_10m",
          "countries_1h",
          "merchants_1h",
          "last_device");

  static final List<String> REQUEST = List.of("amount", "card_present");

  /**
   * The training rows of {@code events[from, to)}: each event's features by the log-order rule.
   *
   * @param log the events log from its start, in log order; it is replayed up to {@code to}
   */
  static List<Trainer.Row> rows(FeatureSpec spec, List<Event> log, int from, int to) {
    return rows(spec, log, from, to, "is_fraud");
  }

  /** As above, labelled by the boolean field {@code label} (absent: negative). */
  static List<Trainer.Row> rows(FeatureSpec spec, List<Event> log, int from, int to, String label) {
    LogOrderFeatures features = LogOrderFeatures.of(spec, "payments");
    Map<String, InMemoryTimeline> timelines = new HashMap<>();
    List<Trainer.Row> rows = new ArrayList<>(to - from);
    for (int i = 0; i < to; i++) {
      Event e = log.get(i);
      InMemoryTimeline timeline =
          timelines.computeIfAbsent(e.getEntityId(), k -> new InMemoryTimeline());
      if (i >= from) {
        rows.add(
            row(e, features.valuesAt(timeline, "user_txn", STORED, e.getEventTimeMs()), label));
      }
      features.append(timeline, e);
    }
    return rows;
  }

  private static Trainer.Row row(Event e, List<FeatureValue> stored, String labelField) {
    double[] x = new double[STORED.size() + REQUEST.size()];
    boolean[] defaulted = new boolean[x.length];
    for (int i = 0; i < STORED.size(); i++) {
      x[i] = number(stored.get(i));
      defaulted[i] = stored.get(i).getStatus() != FeatureStatus.FEATURE_STATUS_OK;
    }
    for (int i = 0; i < REQUEST.size(); i++) {
      Value v = e.getFieldsMap().get(REQUEST.get(i));
      x[STORED.size() + i] = v == null ? 0 : number(v);
      defaulted[STORED.size() + i] = v == null;
    }
    Value label = e.getFieldsMap().get(labelField);
    return new Trainer.Row(x, label != null && label.getBoolValue(), defaulted);
  }

  /** As the scoring node fills a missing or expired value: the input's default, 0. */
  private static double number(FeatureValue v) {
    return v.getStatus() == FeatureStatus.FEATURE_STATUS_OK ? number(v.getValue()) : 0;
  }

  private static double number(Value v) {
    return switch (v.getKindCase()) {
      case DOUBLE_VALUE -> v.getDoubleValue();
      case LONG_VALUE -> v.getLongValue();
      case BOOL_VALUE -> v.getBoolValue() ? 1 : 0;
      case TIMESTAMP_MS -> v.getTimestampMs();
      default -> 0;
    };
  }

  /** AUC of the exported model, run through ONNX Runtime as the scoring node runs it. */
  static double auc(Trainer.Trained model, List<Trainer.Row> rows) {
    float[][] outputs = outputs(model, rows);
    double[] scores = new double[rows.size()];
    boolean[] labels = new boolean[rows.size()];
    for (int i = 0; i < rows.size(); i++) {
      scores[i] = outputs[i][model.fraudColumn()];
      labels[i] = rows.get(i).fraud();
    }
    return Trainer.auc(scores, labels);
  }

  /** The model's outputs for each row, through ONNX Runtime as the scoring node runs it. */
  static float[][] outputs(Trainer.Trained model, List<Trainer.Row> rows) {
    float[][] out = new float[rows.size()][];
    try (ServedModel served = ServedModel.load(model.format(), model.file())) {
      for (int i = 0; i < rows.size(); i++) {
        double[] x = rows.get(i).x();
        float[] f = new float[x.length];
        for (int j = 0; j < x.length; j++) {
          f[j] = (float) x[j];
        }
        out[i] = served.predict(f);
      }
    }
    return out;
  }

  /**
   * The reference profile of a model trained on {@code rows}: each input's values and each output's
   * scores on those rows.
   */
  static ReferenceProfile profile(Trainer.Trained model, List<Trainer.Row> rows, String source) {
    ReferenceProfile.Builder profile = ReferenceProfile.newBuilder().setSource(source);
    List<String> names = inputNames();
    for (int i = 0; i < names.size(); i++) {
      double[] values = new double[rows.size()];
      boolean[] defaulted = new boolean[rows.size()];
      for (int r = 0; r < rows.size(); r++) {
        values[r] = rows.get(r).x()[i];
        defaulted[r] = rows.get(r).defaulted()[i];
      }
      profile.addInputs(Profiles.distribution(names.get(i), values, defaulted));
    }
    float[][] outputs = outputs(model, rows);
    for (int o = 0; o < model.outputs().size(); o++) {
      double[] scores = new double[rows.size()];
      for (int r = 0; r < rows.size(); r++) {
        scores[r] = outputs[r][o];
      }
      profile.addOutputs(Profiles.distribution(model.outputs().get(o), scores, null));
    }
    return profile.build();
  }

  /** The model's input names, in order. */
  static List<String> inputNames() {
    List<String> names = new ArrayList<>();
    STORED.forEach(f -> names.add("user_txn:" + f));
    names.addAll(REQUEST);
    return names;
  }

  /** As {@link #spec(Trainer.Trained, Map)}, with the reference profile of {@code rows}. */
  static ModelVersionSpec spec(
      Trainer.Trained model, Map<String, Double> metrics, List<Trainer.Row> rows, String source) {
    return spec(model, metrics).toBuilder().setProfile(profile(model, rows, source)).build();
  }

  static ModelVersionSpec spec(Trainer.Trained model, Map<String, Double> metrics) {
    ModelVersionSpec.Builder spec =
        ModelVersionSpec.newBuilder()
            .setName("fraud")
            .setFormat(model.format())
            .setDescription("streamscore demo: Tribuo logistic regression")
            .setPositiveOutput(model.outputs().get(model.fraudColumn()))
            .putAllMetrics(metrics);
    for (String f : STORED) {
      spec.addInputs(ModelInput.newBuilder().setName("user_txn:" + f).setView("user_txn"));
    }
    for (String f : REQUEST) {
      spec.addInputs(ModelInput.newBuilder().setName(f));
    }
    for (String o : model.outputs()) {
      spec.addOutputs(ModelOutput.newBuilder().setName(o));
    }
    return spec.build();
  }
}
