package dev.streamscore.modelsync;

import dev.streamscore.etl.FeatureRef;
import dev.streamscore.proto.v1.DataLineage;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.NodeStatus;
import dev.streamscore.proto.v1.PartitionRange;
import dev.streamscore.proto.v1.TrafficPolicy;
import dev.streamscore.proto.v1.TrafficSplit;
import dev.streamscore.proto.v1.TrainingRun;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What the registry checks before it accepts a version, a policy or a node's report; each failure a
 * {@link RegistryException} naming the first bad field.
 */
final class VersionChecks {
  private static final Pattern NODE = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

  private VersionChecks() {}

  static void alias(String alias) {
    if (!ModelAlias.isName(alias)) {
      throw invalid(
          "alias must be 1 to 64 lower-case letters, digits, '-' or '_', got '" + alias + "'");
    }
  }

  static void policy(TrafficPolicy policy, List<ModelVersion> known, String model) {
    if (policy.getSplitsCount() == 0) {
      throw invalid("policy.splits must name at least one version");
    }
    Set<Long> seen = new HashSet<>();
    for (TrafficSplit split : policy.getSplitsList()) {
      requireVersion(split.getVersion(), known, model, "policy.splits");
      if (split.getWeight() <= 0) {
        throw invalid(
            "policy.splits: version "
                + split.getVersion()
                + " has weight "
                + split.getWeight()
                + "; weights must be > 0");
      }
      if (!seen.add(split.getVersion())) {
        throw invalid("policy.splits names version " + split.getVersion() + " twice");
      }
    }
    if (policy.getShadowVersion() != 0) {
      requireVersion(policy.getShadowVersion(), known, model, "policy.shadow_version");
      if (seen.contains(policy.getShadowVersion())) {
        throw invalid(
            "policy.shadow_version "
                + policy.getShadowVersion()
                + " also takes live traffic; a shadow must be another version");
      }
    }
  }

  private static void requireVersion(
      long version, List<ModelVersion> known, String model, String field) {
    if (version < 1 || version > known.size()) {
      throw RegistryException.notFound(
          field + ": model '" + model + "' has versions 1.." + known.size() + ", not " + version);
    }
  }

  /** The first bad field of a version's description. */
  static void spec(ModelVersionSpec spec) {
    if (!ModelAlias.isName(spec.getName())) {
      throw invalid(
          "spec.name must be 1 to 64 lower-case letters, digits, '-' or '_', got '"
              + spec.getName()
              + "'");
    }
    if (spec.getFormat() != ModelFormat.MODEL_FORMAT_ONNX
        && spec.getFormat() != ModelFormat.MODEL_FORMAT_XGBOOST_JSON) {
      throw invalid("spec.format must be ONNX or XGBOOST_JSON, got " + spec.getFormat());
    }
    if (spec.getInputsCount() == 0) {
      throw invalid("spec.inputs must name at least one input");
    }
    Set<String> names = new HashSet<>();
    for (int i = 0; i < spec.getInputsCount(); i++) {
      ModelInput in = spec.getInputs(i);
      if (in.getName().isBlank()) {
        throw invalid("spec.inputs[" + i + "].name is empty");
      }
      if (!names.add(in.getName())) {
        throw invalid("spec.inputs[" + i + "]: input '" + in.getName() + "' appears twice");
      }
      String view;
      try {
        view = FeatureRef.of(in.getName()).map(FeatureRef::view).orElse("");
      } catch (IllegalArgumentException e) {
        throw invalid("spec.inputs[" + i + "]: " + e.getMessage());
      }
      if (!in.getView().isEmpty() && !in.getView().equals(view)) {
        throw invalid(
            "spec.inputs["
                + i
                + "]: input '"
                + in.getName()
                + "' says view '"
                + in.getView()
                + "' but its name names view '"
                + view
                + "'");
      }
      if (!Double.isFinite(in.getDefaultValue())) {
        throw invalid("spec.inputs[" + i + "].default_value must be finite");
      }
    }
    if (spec.getOutputsCount() == 0) {
      throw invalid("spec.outputs must name at least one output");
    }
    for (int i = 0; i < spec.getOutputsCount(); i++) {
      ModelOutput out = spec.getOutputs(i);
      if (out.getName().isBlank()) {
        throw invalid("spec.outputs[" + i + "].name is empty");
      }
    }
    if (!spec.getPositiveOutput().isEmpty()
        && spec.getOutputsList().stream()
            .noneMatch(o -> o.getName().equals(spec.getPositiveOutput()))) {
      throw invalid(
          "spec.positive_output '" + spec.getPositiveOutput() + "' is not one of spec.outputs");
    }
    Profiles.check(spec);
  }

  /** The most trials a run may record. */
  static final int MAX_TRIALS = 1_000;

  /**
   * A run to record: its spec is a version's, its model the spec's name, its figures finite, its
   * lineage's ranges ordered; what the registry sets (id, sha256 when not expected) is not checked.
   */
  static void run(TrainingRun run) {
    if (!run.getId().isEmpty()) {
      throw invalid("run.id is set by the registry; leave it empty");
    }
    spec(run.getSpec());
    if (!run.getModel().equals(run.getSpec().getName())) {
      throw invalid(
          "run.model '"
              + run.getModel()
              + "' is not run.spec.name '"
              + run.getSpec().getName()
              + "'");
    }
    if (run.getAlgorithm().isBlank() || run.getAlgorithm().length() > 64) {
      throw invalid("run.algorithm must be 1 to 64 characters");
    }
    if (run.getTrialsCount() > MAX_TRIALS) {
      throw invalid("run.trials: at most " + MAX_TRIALS + ", got " + run.getTrialsCount());
    }
    finite("run.metrics", run.getMetricsMap());
    for (int i = 0; i < run.getTrialsCount(); i++) {
      finite("run.trials[" + i + "].validation", run.getTrials(i).getValidationMap());
    }
    DataLineage l = run.getLineage();
    for (int i = 0; i < l.getRangesCount(); i++) {
      PartitionRange r = l.getRanges(i);
      if (r.getPartition() < 0 || r.getFromOffset() < 0 || r.getToOffset() < r.getFromOffset()) {
        throw invalid(
            "run.lineage.ranges["
                + i
                + "] must be a partition >= 0 and offsets 0 <= from <= to, got "
                + r.getPartition()
                + " ["
                + r.getFromOffset()
                + ", "
                + r.getToOffset()
                + ")");
      }
    }
    if (l.getRows() < 0 || !(l.getLabelRate() >= 0 && l.getLabelRate() <= 1)) {
      throw invalid("run.lineage: rows must be >= 0 and label_rate in [0, 1]");
    }
    if (run.getDurationMs() < 0 || run.getStartedAtMs() < 0) {
      throw invalid("run.started_at_ms and run.duration_ms must not be negative");
    }
  }

  private static void finite(String field, java.util.Map<String, Double> values) {
    values.forEach(
        (k, v) -> {
          if (!Double.isFinite(v)) {
            throw invalid(field + "['" + k + "'] must be finite, got " + v);
          }
        });
  }

  /**
   * A node's report names a well-formed node, and a model, alias and serving versions the registry
   * has: a node cannot report what does not exist.
   *
   * @param known the model's versions, null when it is not registered
   * @param aliases the model's aliases
   */
  static void report(NodeStatus status, List<ModelVersion> known, Set<String> aliases) {
    if (!NODE.matcher(status.getNodeId()).matches()) {
      throw invalid(
          "node_id must be 1 to 128 of a-z, A-Z, 0-9, '.', '_', ':' and '-', got "
              + quoted(status.getNodeId()));
    }
    if (known == null) {
      throw invalid("model " + quoted(status.getModel()) + " is not registered");
    }
    if (!aliases.contains(status.getAlias())) {
      throw invalid(
          "model " + quoted(status.getModel()) + " has no alias " + quoted(status.getAlias()));
    }
    for (long v : status.getServingVersionsList()) {
      if (v < 1 || v > known.size()) {
        throw invalid(
            "serving_versions: model "
                + quoted(status.getModel())
                + " has no version "
                + v
                + " (it has 1 to "
                + known.size()
                + ")");
      }
    }
  }

  /**
   * An ONNX or XGBoost JSON artifact must load, with an input width that is the number of declared
   * inputs: refused at the door rather than by every node that tries to load it.
   */
  static void artifact(ModelVersionSpec spec, Path artifact) {
    ServedModel.Signature signature;
    try {
      signature = ServedModel.signatureOf(spec.getFormat(), artifact);
    } catch (RuntimeException e) {
      throw invalid("the artifact is " + e.getMessage());
    }
    int width = signature.width();
    if (width > 0 && width != spec.getInputsCount()) {
      throw invalid(
          "the model takes " + width + " inputs but spec.inputs declares " + spec.getInputsCount());
    }
    List<String> declared = spec.getInputsList().stream().map(ModelInput::getName).toList();
    if (!signature.names().isEmpty() && !signature.names().equals(declared)) {
      // A model trained on columns in another order scores garbage without any error.
      int i = 0;
      int common = Math.min(signature.names().size(), declared.size());
      while (i < common && signature.names().get(i).equals(declared.get(i))) {
        i++;
      }
      if (i == common) {
        throw invalid(
            "the model names "
                + signature.names().size()
                + " features but spec.inputs declares "
                + declared.size());
      }
      throw invalid(
          "spec.inputs["
              + i
              + "] is "
              + quoted(declared.get(i))
              + " but the model was trained with "
              + quoted(signature.names().get(i))
              + " there (its features, in order, are the inputs)");
    }
  }

  /** {@code 'name'}, cut to 80 characters: error messages never grow with the input. */
  static String quoted(String text) {
    return "'" + (text.length() <= 80 ? text : text.substring(0, 77) + "...") + "'";
  }

  private static RegistryException invalid(String message) {
    return RegistryException.invalid(message);
  }
}
