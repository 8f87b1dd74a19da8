package dev.streamscore.modelsync;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/**
 * Checks an XGBoost JSON model's structure before xgboost4j sees it. XGBoost's native code trusts
 * its input: deep nesting overflows its parser's stack, and a child index or split feature out of
 * range is read out of bounds during prediction; either kills the JVM (measured: SIGSEGV). So a
 * model must be a gbtree of plain binary trees: every array as long as the tree's node count, each
 * node reached once from the root (no cycles or shared children, so every walk ends), split
 * features below the model's feature count, no categorical splits, one value per leaf.
 */
final class XgboostJsonCheck {
  // XGBoost's own models nest about 8 deep.
  private static final int MAX_DEPTH = 32;
  private static final ObjectMapper JSON =
      new ObjectMapper(
          JsonFactory.builder()
              .streamReadConstraints(
                  StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).build())
              .build());
  private static final String[] NODE_ARRAYS = {
    "left_children", "right_children", "split_indices", "split_conditions", "default_left"
  };

  private XgboostJsonCheck() {}

  /**
   * @throws ModelLoadException naming what is wrong
   */
  static void check(byte[] bytes) {
    JsonNode root;
    try {
      root = JSON.readTree(bytes);
    } catch (IOException e) {
      throw new ModelLoadException("not an XGBoost JSON model: " + firstLine(e.getMessage()), e);
    }
    JsonNode learner = root == null ? null : root.path("learner");
    if (learner == null || !learner.isObject()) {
      throw new ModelLoadException("not an XGBoost JSON model: it has no 'learner' object");
    }
    long features = intOf(learner.path("learner_model_param").path("num_feature"), "num_feature");
    JsonNode booster = learner.path("gradient_booster");
    String kind = booster.path("name").asText("");
    if (!kind.equals("gbtree")) {
      throw new ModelLoadException(
          "the XGBoost booster is '" + VersionChecks.quoted(kind) + "'; only gbtree is served");
    }
    JsonNode trees = booster.path("model").path("trees");
    if (!trees.isArray()) {
      throw new ModelLoadException("not an XGBoost JSON model: it has no trees array");
    }
    for (int t = 0; t < trees.size(); t++) {
      checkTree(trees.get(t), t, features);
    }
  }

  private static void checkTree(JsonNode tree, int t, long features) {
    String where = "tree " + t;
    JsonNode param = tree.path("tree_param");
    long nodes = intOf(param.path("num_nodes"), where + " num_nodes");
    if (nodes < 1 || nodes > Integer.MAX_VALUE) {
      throw new ModelLoadException(where + " has " + nodes + " nodes");
    }
    if (intOf(param.path("size_leaf_vector"), where + " size_leaf_vector") > 1) {
      throw new ModelLoadException(where + " has vector leaves, which are not served");
    }
    for (String array : NODE_ARRAYS) {
      if (!tree.path(array).isArray() || tree.path(array).size() != nodes) {
        throw new ModelLoadException(where + ": " + array + " must hold " + nodes + " values");
      }
    }
    JsonNode types = tree.path("split_type");
    JsonNode left = tree.path("left_children");
    JsonNode right = tree.path("right_children");
    JsonNode split = tree.path("split_indices");
    // A walk from the root that reaches a node twice has a cycle or a shared child.
    boolean[] reached = new boolean[(int) nodes];
    java.util.ArrayDeque<Integer> todo = new java.util.ArrayDeque<>();
    todo.push(0);
    reached[0] = true;
    while (!todo.isEmpty()) {
      int i = todo.pop();
      long l = left.get(i).asLong(Long.MIN_VALUE);
      long r = right.get(i).asLong(Long.MIN_VALUE);
      if (l == -1 && r == -1) {
        continue;
      }
      if (l < 0
          || r < 0
          || l >= nodes
          || r >= nodes
          || l == r
          || reached[(int) l]
          || reached[(int) r]) {
        throw new ModelLoadException(
            where + " node " + i + " has children " + l + " and " + r + ", not a tree's");
      }
      long feature = split.get(i).asLong(-1);
      if (feature < 0 || feature >= features) {
        throw new ModelLoadException(
            where + " node " + i + " splits on feature " + feature + " of " + features);
      }
      if (types.isArray() && types.size() > i && types.get(i).asInt(0) != 0) {
        throw new ModelLoadException(where + " has categorical splits, which are not served");
      }
      reached[(int) l] = true;
      reached[(int) r] = true;
      todo.push((int) l);
      todo.push((int) r);
    }
  }

  /** XGBoost writes its parameters as strings ("27"), arrays as numbers. */
  private static long intOf(JsonNode node, String name) {
    try {
      return node.isTextual() ? Long.parseLong(node.asText()) : node.longValue();
    } catch (NumberFormatException e) {
      throw new ModelLoadException(name + " is not an integer: " + node);
    }
  }

  private static String firstLine(String message) {
    return message == null ? "" : message.lines().findFirst().orElse("");
  }
}
