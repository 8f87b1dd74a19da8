package dev.streamscore.launcher;

import dev.streamscore.etl.FeatureRef;
import dev.streamscore.modelsync.Policies;
import dev.streamscore.modelsync.RegistryClient;
import dev.streamscore.proto.security.ClientSecurity;
import dev.streamscore.proto.v1.AliasChange;
import dev.streamscore.proto.v1.AliasState;
import dev.streamscore.proto.v1.MissingPolicy;
import dev.streamscore.proto.v1.Model;
import dev.streamscore.proto.v1.ModelFormat;
import dev.streamscore.proto.v1.ModelInput;
import dev.streamscore.proto.v1.ModelOutput;
import dev.streamscore.proto.v1.ModelVersion;
import dev.streamscore.proto.v1.ModelVersionSpec;
import dev.streamscore.proto.v1.NodeStatus;
import dev.streamscore.proto.v1.TrafficPolicy;
import dev.streamscore.proto.v1.TrafficSplit;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code streamscore models ...}: the registry's command line. */
@Command(
    name = "models",
    mixinStandardHelpOptions = true,
    description = "Registers model versions and moves aliases in the model registry.",
    subcommands = {
      ModelsCommand.Register.class,
      ModelsCommand.ListModels.class,
      ModelsCommand.Show.class,
      ModelsCommand.Promote.class,
      ModelsCommand.Rollback.class,
      ModelsCommand.History.class,
      ModelsDrift.class,
      ModelsQuality.class
    })
final class ModelsCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Where the registry is and who is calling; shared by every verb. */
  static final class Connection {
    @Option(
        names = "--registry",
        paramLabel = "HOST:PORT",
        defaultValue = "127.0.0.1:" + PlatformConfig.DEFAULT_REGISTRY_PORT,
        description = "The model registry (default: ${DEFAULT-VALUE}).")
    String registry;

    @Mixin ClientSecurityOptions client;

    /**
     * Runs {@code call} with a client; a token comes from a file or the environment, never a flag
     * (a flag shows in the process list).
     */
    <T> T with(Function<RegistryClient, T> call) {
      ClientSecurity security = client.security();
      ManagedChannel channel = security.channel(registry).build();
      try {
        RegistryClient client =
            new RegistryClient(
                channel,
                security.token().isPresent()
                    ? Optional.empty()
                    : Optional.ofNullable(System.getenv(PlatformConfig.TOKEN_ENV))
                        .filter(t -> !t.isBlank()),
                System.getProperty("user.name", "unknown"));
        return call.apply(client);
      } finally {
        channel.shutdownNow();
        try {
          channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  @Command(
      name = "register",
      mixinStandardHelpOptions = true,
      description = "Uploads FILE as the next version of a model and prints its number.")
  static final class Register implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(
        paramLabel = "FILE",
        arity = "0..1",
        description = "The model artifact (ONNX or XGBoost JSON); none with --from-run.")
    Path file;

    @Option(
        names = "--from-run",
        paramLabel = "RUN",
        description = "Registers a training run's best model, its spec naming the run.")
    String fromRun;

    @Option(names = "--name", description = "The model name (fraud).")
    String name;

    @Option(
        names = "--format",
        paramLabel = "FORMAT",
        description = "onnx or xgboost-json (default: xgboost-json for a .json FILE, else onnx).")
    String format;

    @Option(
        names = "--inputs",
        split = ",",
        paramLabel = "FEATURE",
        description =
            "The model's inputs in order: view:feature for stored features, a bare name for"
                + " request-time ones.")
    List<String> inputs;

    @Option(
        names = "--outputs",
        split = ",",
        paramLabel = "NAME",
        defaultValue = "score",
        description = "The model's outputs in order (default: ${DEFAULT-VALUE}).")
    List<String> outputs;

    @Option(
        names = "--default",
        paramLabel = "FEATURE=VALUE",
        description = "The value used when a feature is missing or expired (default 0).")
    Map<String, Double> defaults = new LinkedHashMap<>();

    @Option(
        names = "--reject-missing",
        description =
            "Refuse requests whose stored features are missing or expired instead of using"
                + " defaults.")
    boolean rejectMissing;

    @Option(names = "--metric", paramLabel = "NAME=VALUE", description = "Offline metrics.")
    Map<String, Double> metrics = new LinkedHashMap<>();

    @Option(names = "--label", paramLabel = "KEY=VALUE", description = "Free-form labels.")
    Map<String, String> labels = new LinkedHashMap<>();

    @Option(names = "--description", defaultValue = "", description = "Free text.")
    String description;

    @Option(
        names = "--positive-output",
        paramLabel = "NAME",
        defaultValue = "",
        description = "The output that is the positive class's probability (default: the last).")
    String positiveOutput;

    @Option(
        names = "--profile",
        paramLabel = "FILE",
        description =
            "The version's reference profile: a ReferenceProfile in JSON, or a CSV of rows to"
                + " build it from.")
    Path profile;

    @CommandLine.Spec CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
      if (fromRun != null) {
        if (file != null || name != null || inputs != null) {
          throw new StartupException(
              "--from-run takes no FILE, --name or --inputs: the run has them");
        }
        ModelVersion v = connection.with(c -> c.registerFromRun(fromRun));
        command
            .commandLine()
            .getOut()
            .printf(
                "registered %s version %d from run %s (sha256 %s)%n",
                v.getName(), v.getVersion(), fromRun, v.getSha256());
        return 0;
      }
      if (file == null || name == null || inputs == null) {
        throw new StartupException("register needs FILE, --name and --inputs (or --from-run RUN)");
      }
      if (!Files.isRegularFile(file)) {
        throw new StartupException("no model file at " + file);
      }
      for (String feature : defaults.keySet()) {
        if (!inputs.contains(feature)) {
          throw new StartupException(
              "--default names '" + feature + "', which is not one of --inputs");
        }
      }
      ModelVersionSpec.Builder spec =
          ModelVersionSpec.newBuilder()
              .setName(name)
              .setFormat(format())
              .putAllMetrics(metrics)
              .putAllLabels(labels)
              .setDescription(description)
              .setPositiveOutput(positiveOutput);
      for (String input : inputs) {
        spec.addInputs(
            ModelInput.newBuilder()
                .setName(input)
                .setView(FeatureRef.of(input).map(FeatureRef::view).orElse(""))
                .setDefaultValue(defaults.getOrDefault(input, 0.0))
                .setMissingPolicy(
                    rejectMissing
                        ? MissingPolicy.MISSING_POLICY_REJECT
                        : MissingPolicy.MISSING_POLICY_USE_DEFAULT));
      }
      outputs.forEach(o -> spec.addOutputs(ModelOutput.newBuilder().setName(o)));
      if (profile != null) {
        spec.setProfile(ProfileFile.read(profile, inputs, defaults, outputs));
      }
      ModelVersion v =
          connection.with(
              c -> {
                try {
                  return c.register(file, spec.build());
                } catch (IOException e) {
                  throw new UncheckedIOException("cannot read " + file, e);
                }
              });
      command
          .commandLine()
          .getOut()
          .printf(
              "registered %s version %d (%,d bytes, sha256 %s)%n",
              v.getName(), v.getVersion(), v.getSizeBytes(), v.getSha256());
      return 0;
    }

    private ModelFormat format() {
      String f =
          format != null ? format : file.toString().endsWith(".json") ? "xgboost-json" : "onnx";
      return switch (f) {
        case "onnx" -> ModelFormat.MODEL_FORMAT_ONNX;
        case "xgboost-json" -> ModelFormat.MODEL_FORMAT_XGBOOST_JSON;
        default ->
            throw new StartupException("--format must be onnx or xgboost-json, got '" + f + "'");
      };
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists models.")
  static final class ListModels implements Callable<Integer> {
    @Mixin Connection connection;

    @Option(names = "--prefix", defaultValue = "", description = "Only names starting with this.")
    String prefix;

    @CommandLine.Spec CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
      PrintWriter out = command.commandLine().getOut();
      List<Model> models = connection.with(c -> c.list(prefix));
      out.printf("%-24s %8s  %s%n", "MODEL", "VERSIONS", "ALIASES");
      for (Model m : models) {
        List<String> aliases = new ArrayList<>();
        for (AliasState a : m.getAliasesList()) {
          aliases.add(a.getAlias() + "=" + Policies.describe(a.getPolicy()));
        }
        out.printf(
            "%-24s %8d  %s%n", m.getName(), m.getVersionsCount(), String.join("; ", aliases));
      }
      return 0;
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "A model's versions, aliases and what each scoring node serves.")
  static final class Show implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(paramLabel = "NAME")
    String name;

    @CommandLine.Spec CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
      PrintWriter out = command.commandLine().getOut();
      record Shown(Model model, List<NodeStatus> nodes) {}
      Shown shown = connection.with(c -> new Shown(c.model(name), c.nodeStatuses(name)));
      out.println("model " + name);
      for (ModelVersion v : shown.model().getVersionsList()) {
        out.printf(
            "  v%d  %s by %s  sha256 %s  %,d bytes  %s  inputs %s  outputs %s%s%s%n",
            v.getVersion(),
            Instant.ofEpochMilli(v.getCreatedAtMs()),
            v.getCreatedBy(),
            v.getSha256().substring(0, 12),
            v.getSizeBytes(),
            v.hasSignature()
                ? "signed "
                    + v.getSignature().getAlgorithm()
                    + " key "
                    + v.getSignature().getKeyId()
                : "unsigned",
            v.getSpec().getInputsList().stream().map(ModelInput::getName).toList(),
            v.getSpec().getOutputsList().stream().map(ModelOutput::getName).toList(),
            v.getSpec().getMetricsMap().isEmpty() ? "" : "  metrics " + v.getSpec().getMetricsMap(),
            v.getSpec().getDescription().isEmpty() ? "" : "  " + v.getSpec().getDescription());
      }
      for (AliasState a : shown.model().getAliasesList()) {
        out.printf(
            "  alias %s -> %s (revision %d, %s by %s)%n",
            a.getAlias(),
            Policies.describe(a.getPolicy()),
            a.getRevision(),
            Instant.ofEpochMilli(a.getUpdatedAtMs()),
            a.getUpdatedBy());
      }
      for (NodeStatus n : shown.nodes()) {
        out.printf(
            "  node %s %s: %s serving %s (tried revision %d)%s%n",
            n.getNodeId(),
            n.getAlias(),
            n.getState().name().replace("SYNC_STATE_", "").toLowerCase(java.util.Locale.ROOT),
            n.getServingVersionsList(),
            n.getAttemptedRevision(),
            n.hasError() ? ": " + n.getError().getMessage() : "");
      }
      return 0;
    }
  }

  @Command(
      name = "promote",
      mixinStandardHelpOptions = true,
      description = {
        "Points an alias at VERSION. With --weight, VERSION takes that percentage of the traffic",
        "(a canary) and the alias's other versions share the rest; with --shadow, VERSION is",
        "scored in shadow and the live versions stay."
      })
  static final class Promote implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Parameters(index = "1", paramLabel = "VERSION")
    long version;

    @Option(names = "--alias", defaultValue = "prod", description = "(default: ${DEFAULT-VALUE})")
    String alias;

    @Option(names = "--weight", paramLabel = "PERCENT", description = "1 to 99: a canary share.")
    Integer weight;

    @Option(names = "--shadow", description = "Score VERSION in shadow only.")
    boolean shadow;

    @Option(names = "--reason", defaultValue = "", description = "Recorded in the history.")
    String reason;

    @CommandLine.Spec CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
      if (weight != null && (weight < 1 || weight > 99)) {
        throw new StartupException("--weight must be 1 to 99 (a percentage), got " + weight);
      }
      if (weight != null && shadow) {
        throw new StartupException("--weight and --shadow exclude each other");
      }
      AliasState state =
          connection.with(
              c -> {
                TrafficPolicy current =
                    c.model(name).getAliasesList().stream()
                        .filter(a -> a.getAlias().equals(alias))
                        .map(AliasState::getPolicy)
                        .findFirst()
                        .orElse(null);
                return c.setAlias(name, alias, policy(current), reason);
              });
      command
          .commandLine()
          .getOut()
          .printf(
              "%s/%s -> %s (revision %d)%n",
              name, alias, Policies.describe(state.getPolicy()), state.getRevision());
      return 0;
    }

    private TrafficPolicy policy(TrafficPolicy current) {
      if ((weight != null || shadow) && current == null) {
        throw new StartupException(
            "alias '" + alias + "' of '" + name + "' has no versions yet; promote one fully first");
      }
      if (shadow) {
        return current.toBuilder().setShadowVersion(version).build();
      }
      TrafficPolicy.Builder next = TrafficPolicy.newBuilder();
      if (weight == null) {
        next.addSplits(TrafficSplit.newBuilder().setVersion(version).setWeight(100));
      } else {
        List<TrafficSplit> others =
            current.getSplitsList().stream().filter(s -> s.getVersion() != version).toList();
        if (others.isEmpty()) {
          throw new StartupException(
              "version "
                  + version
                  + " already takes all of '"
                  + alias
                  + "'; nothing to share with");
        }
        long total = others.stream().mapToLong(TrafficSplit::getWeight).sum();
        for (TrafficSplit s : others) {
          int share = (int) Math.max(1, Math.round((100.0 - weight) * s.getWeight() / total));
          next.addSplits(TrafficSplit.newBuilder().setVersion(s.getVersion()).setWeight(share));
        }
        next.addSplits(TrafficSplit.newBuilder().setVersion(version).setWeight(weight));
      }
      if (current != null && current.getShadowVersion() != version) {
        next.setShadowVersion(current.getShadowVersion());
      }
      return next.build();
    }
  }

  @Command(
      name = "rollback",
      mixinStandardHelpOptions = true,
      description = "Moves an alias back to the policy it had before its latest change.")
  static final class Rollback implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--alias", defaultValue = "prod", description = "(default: ${DEFAULT-VALUE})")
    String alias;

    @Option(names = "--reason", defaultValue = "", description = "Recorded in the history.")
    String reason;

    @CommandLine.Spec CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
      AliasState state = connection.with(c -> c.rollback(name, alias, reason));
      command
          .commandLine()
          .getOut()
          .printf(
              "%s/%s rolled back to %s (revision %d)%n",
              name, alias, Policies.describe(state.getPolicy()), state.getRevision());
      return 0;
    }
  }

  @Command(
      name = "history",
      mixinStandardHelpOptions = true,
      description = "Every change of a model's aliases, newest first.")
  static final class History implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--alias", defaultValue = "", description = "Only this alias.")
    String alias;

    @Option(names = "--limit", defaultValue = "0", description = "At most this many; 0 for all.")
    int limit;

    @CommandLine.Spec CommandLine.Model.CommandSpec command;

    @Option(
        names = "--at",
        paramLabel = "TIME",
        description = "What each alias served at this time (ISO-8601), from the history.")
    Instant at;

    @Override
    public Integer call() {
      PrintWriter out = command.commandLine().getOut();
      List<AliasChange> changes = connection.with(client -> client.history(name, alias, limit));
      if (at != null) {
        servedAt(out, changes);
        return 0;
      }
      for (AliasChange c : changes) {
        out.printf(
            "%d  %s  %s  %s -> %s  by %s  (%s)%n",
            c.getRevision(),
            Instant.ofEpochMilli(c.getAtMs()),
            c.getAlias(),
            c.hasFrom() ? Policies.describe(c.getFrom()) : "(new)",
            Policies.describe(c.getTo()),
            c.getBy(),
            c.getReason());
      }
      return 0;
    }

    /** Per alias, the last change at or before {@link #at}: what it served then. */
    private void servedAt(PrintWriter out, List<AliasChange> changes) {
      Map<String, AliasChange> last = new java.util.TreeMap<>();
      java.util.Set<String> aliases = new java.util.TreeSet<>();
      for (AliasChange c : changes) {
        aliases.add(c.getAlias());
        if (c.getAtMs() <= at.toEpochMilli()) {
          last.merge(c.getAlias(), c, (a, b) -> b.getRevision() > a.getRevision() ? b : a);
        }
      }
      for (String a : aliases) {
        AliasChange c = last.get(a);
        if (c == null) {
          out.printf("%s/%s at %s: nothing yet (the alias came later)%n", name, a, at);
        } else {
          out.printf(
              "%s/%s at %s: %s, since revision %d (%s, by %s)%n",
              name,
              a,
              at,
              Policies.describe(c.getTo()),
              c.getRevision(),
              Instant.ofEpochMilli(c.getAtMs()),
              c.getBy());
        }
      }
    }
  }
}
