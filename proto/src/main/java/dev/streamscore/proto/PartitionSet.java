package dev.streamscore.proto;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Partitions of the feature topics, as an operator writes them: {@code 0,1} or {@code 0-3,6}.
 *
 * @param partitions distinct, ascending, each in {@code [0, MAX_PARTITION]}; at least one
 */
public record PartitionSet(List<Integer> partitions) {
  /** The greatest partition number accepted; far beyond what a topic of ours has. */
  public static final int MAX_PARTITION = 9_999;

  public PartitionSet {
    TreeSet<Integer> sorted = new TreeSet<>();
    for (Integer p : partitions) {
      if (p == null || p < 0 || p > MAX_PARTITION) {
        throw new IllegalArgumentException(
            "partition " + p + " is not in [0, " + MAX_PARTITION + "]");
      }
      sorted.add(p);
    }
    if (sorted.isEmpty()) {
      throw new IllegalArgumentException("name at least one partition");
    }
    partitions = List.copyOf(sorted);
  }

  /**
   * Parses comma-separated partitions and inclusive ranges ({@code 0-3,6}).
   *
   * @throws IllegalArgumentException naming the part that is not a partition or a range
   */
  public static PartitionSet parse(String text) {
    List<Integer> partitions = new ArrayList<>();
    for (String part : text.split(",", -1)) {
      String p = part.strip();
      int dash = p.indexOf('-', 1);
      try {
        if (dash < 0) {
          partitions.add(number(p));
          continue;
        }
        int from = number(p.substring(0, dash));
        int to = number(p.substring(dash + 1));
        if (from > to) {
          throw new IllegalArgumentException("the range '" + p + "' is empty");
        }
        for (int i = from; i <= to; i++) {
          partitions.add(i);
        }
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "'" + p + "' is not a partition or a range of partitions (as in 0,1 or 0-3)");
      }
    }
    return new PartitionSet(partitions);
  }

  private static int number(String s) {
    String digits = s.strip();
    if (!digits.matches("[0-9]{1,9}")) {
      throw new NumberFormatException(digits); // parseInt would take other scripts' digits too
    }
    int n = Integer.parseInt(digits);
    if (n < 0 || n > MAX_PARTITION) {
      throw new IllegalArgumentException(
          "partition " + n + " is not in [0, " + MAX_PARTITION + "]");
    }
    return n;
  }

  /** Whether {@code partition} is one of these. */
  public boolean contains(int partition) {
    return java.util.Collections.binarySearch(partitions, partition) >= 0;
  }

  /** The greatest partition named. */
  public int max() {
    return partitions.get(partitions.size() - 1);
  }

  /** As parsed: {@code 0,1,2}. */
  @Override
  public String toString() {
    StringBuilder s = new StringBuilder();
    for (Integer p : partitions) {
      if (s.length() > 0) {
        s.append(',');
      }
      s.append(p);
    }
    return s.toString();
  }
}
