package dev.streamscore.proto;

import dev.streamscore.proto.v1.PredictRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Client-side routing to scoring nodes that each hold some partitions of the feature topics ({@code
 * scoring-node --partitions}): a request goes to a node holding the partition of its entity,
 * computed with the topics' own partitioner ({@link EntityPartitioner}). Each group of nodes
 * holding the same partitions is one {@link FailoverChannels} channel, so nodes of a group share
 * its load and fail over for each other.
 *
 * <p>The table is written {@code PARTITIONS=HOST:PORT[,HOST:PORT...]} per group, groups separated
 * by {@code ;}, for example {@code 0,1=10.0.0.5:9091;2,3=10.0.0.6:9091,10.0.0.7:9091}. Its groups
 * must cover partitions 0 to N-1, N being the feature topics' partition count; a partition in
 * several groups goes to the first. Thread-safe; closing it closes every channel.
 */
public final class PartitionRouter implements AutoCloseable {
  private record Group(PartitionSet held, String targets, ManagedChannel channel) {}

  private final List<Group> groups;
  private final Group[] byPartition;

  private PartitionRouter(List<Group> groups, Group[] byPartition) {
    this.groups = groups;
    this.byPartition = byPartition;
  }

  /**
   * Opens one failover channel per group of {@code table}.
   *
   * @param services as for {@link FailoverChannels#forTargets}
   * @throws IllegalArgumentException naming what in the table is malformed, or the partition no
   *     group holds
   */
  public static PartitionRouter forTable(String table, List<String> services) {
    List<PartitionSet> sets = new ArrayList<>();
    List<String> targets = new ArrayList<>();
    for (String entry : table.split(";")) {
      String e = entry.strip();
      int eq = e.indexOf('=');
      if (eq <= 0 || eq == e.length() - 1) {
        throw new IllegalArgumentException(
            "'" + e + "' is not PARTITIONS=HOST:PORT[,HOST:PORT...] (as in 0,1=127.0.0.1:9091)");
      }
      sets.add(PartitionSet.parse(e.substring(0, eq)));
      FailoverChannels.parse(e.substring(eq + 1)); // fails before any channel is open
      targets.add(e.substring(eq + 1).strip());
    }
    int partitions = sets.stream().mapToInt(PartitionSet::max).max().orElseThrow() + 1;
    for (int p = 0; p < partitions; p++) {
      final int partition = p;
      if (sets.stream().noneMatch(s -> s.contains(partition))) {
        throw new IllegalArgumentException(
            "no node holds partition "
                + p
                + " of the "
                + partitions
                + " the table implies; every partition from 0 up needs one");
      }
    }
    List<Group> groups = new ArrayList<>();
    Group[] byPartition = new Group[partitions];
    for (int i = 0; i < sets.size(); i++) {
      Group g =
          new Group(
              sets.get(i), targets.get(i), FailoverChannels.forTargets(targets.get(i), services));
      groups.add(g);
      for (int p : g.held().partitions()) {
        if (byPartition[p] == null) {
          byPartition[p] = g;
        }
      }
    }
    return new PartitionRouter(List.copyOf(groups), byPartition);
  }

  /** The feature topics' partition count, as the table implies it. */
  public int partitions() {
    return byPartition.length;
  }

  /** The partition of an entity's features. */
  public int partitionOf(String entityId) {
    return EntityPartitioner.partition(entityId, byPartition.length);
  }

  /** The channel to the nodes holding {@code entityId}'s partition. */
  public ManagedChannel channelFor(String entityId) {
    return byPartition[partitionOf(entityId)].channel();
  }

  /**
   * The channel to nodes holding the partitions of all of {@code entityIds} (the first group when
   * there are none).
   *
   * @throws StatusRuntimeException FAILED_PRECONDITION when no group holds all their partitions
   */
  public ManagedChannel channelFor(Collection<String> entityIds) {
    if (entityIds.isEmpty()) {
      return groups.get(0).channel();
    }
    List<Integer> needed = new ArrayList<>();
    for (String id : entityIds) {
      needed.add(partitionOf(id));
    }
    Group first = byPartition[needed.get(0)];
    if (needed.stream().allMatch(first.held()::contains)) {
      return first.channel();
    }
    for (Group g : groups) {
      if (needed.stream().allMatch(g.held()::contains)) {
        return g.channel();
      }
    }
    throw Status.FAILED_PRECONDITION
        .withDescription(
            "the entities "
                + entityIds
                + " are in partitions "
                + needed
                + "; no node of the table holds all of them")
        .asRuntimeException();
  }

  /** The channel for a request, by the values of its {@code entity_ids}. */
  public ManagedChannel channelFor(PredictRequest request) {
    return channelFor(request.getEntityIdsMap().values());
  }

  /** Shuts every channel down, waiting up to 5 s for calls in flight. */
  @Override
  public void close() {
    for (Group g : groups) {
      g.channel().shutdown();
    }
    for (Group g : groups) {
      try {
        if (!g.channel().awaitTermination(5, TimeUnit.SECONDS)) {
          g.channel().shutdownNow();
        }
      } catch (InterruptedException e) {
        g.channel().shutdownNow();
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public String toString() {
    StringBuilder s = new StringBuilder();
    for (Group g : groups) {
      s.append(s.length() == 0 ? "" : ";").append(g.held()).append('=').append(g.targets());
    }
    return s.toString();
  }
}
