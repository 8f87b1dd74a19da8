package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.proto.v1.Event;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class InMemoryEntityStateTest {
  private static final long START = 1_764_000_000_000L;

  /** Tile versions and rejections per event, processed with the given state handling. */
  private static List<String> outcomes(List<Event> events, boolean throughBytes) {
    return outcomes(events, throughBytes ? 1 : 0);
  }

  /** Appends each tile version and rejection of one event's outcome. */
  private static void record(FeatureProcessor.Outcome outcome, Event e, List<String> out) {
    for (TileUpdate u : outcome.updates()) {
      out.add(u.view() + ":" + u.entityId() + "@" + u.tileStartMs() + "=" + u.row());
    }
    for (Rejection r : outcome.rejections()) {
      out.add(e.getEventId() + " " + r);
    }
  }

  /**
   * Tile versions and rejections per event; with {@code maxBatch} > 0 each entity's state is
   * written to bytes and read back after a random 1 to maxBatch of its events (0: never).
   */
  private static List<String> outcomes(List<Event> events, int maxBatch) {
    boolean throughBytes = maxBatch > 0;
    Random random = new Random(maxBatch);
    Map<String, Integer> untilWrite = new HashMap<>();
    FeatureProcessor processor =
        FeatureProcessor.of(GoldenStream.spec(), GoldenStream.SOURCE, "test");
    Map<String, byte[]> stored = new HashMap<>();
    Map<String, InMemoryEntityState> live = new HashMap<>();
    List<String> out = new ArrayList<>();
    for (Event e : events) {
      InMemoryEntityState state;
      if (throughBytes && !live.containsKey(e.getEntityId())) {
        byte[] bytes = stored.get(e.getEntityId());
        state = bytes == null ? new InMemoryEntityState() : InMemoryEntityState.fromBytes(bytes);
      } else {
        state = live.computeIfAbsent(e.getEntityId(), k -> new InMemoryEntityState());
      }
      record(processor.process(state, e, START), e, out);
      if (throughBytes) {
        int left = untilWrite.getOrDefault(e.getEntityId(), 1 + random.nextInt(maxBatch)) - 1;
        if (left == 0) {
          stored.put(e.getEntityId(), state.toBytes());
          live.remove(e.getEntityId());
        } else {
          live.put(e.getEntityId(), state);
        }
        untilWrite.put(e.getEntityId(), left == 0 ? 1 + random.nextInt(maxBatch) : left);
      }
    }
    return out;
  }

  @Test
  void aStateCarriedThroughBytesBetweenEveryEventProcessesAsALiveOne() {
    List<Event> events = GoldenStream.generate(3, 5_000, 50, START, 3 * 3_600_000L);

    List<String> live = outcomes(events, false);
    List<String> carried = outcomes(events, true);

    assertThat(carried).hasSize(live.size()).isEqualTo(live);
    assertThat(live).anyMatch(s -> s.contains("DUPLICATE"));
  }

  @Test
  void aStateWrittenAfterBatchesOfAnySizeProcessesAsALiveOne() {
    List<Event> events = GoldenStream.generate(5, 8_000, 20, START, 3 * 3_600_000L);

    List<String> live = outcomes(events, 0);

    for (int maxBatch : new int[] {2, 7, 50, 1_000}) {
      assertThat(outcomes(events, maxBatch)).as("batches of up to %d", maxBatch).isEqualTo(live);
    }
  }

  @Test
  void seenIdsOfEveryShapeAreFoundAfterAnyNumberOfWrites() {
    Random random = new Random(11);
    Map<String, Long> model = new HashMap<>();
    List<String> ids = new ArrayList<>();
    ids.add("");
    ids.add("x".repeat(70_000)); // past modified UTF-8's 65,535-byte limit of format 1
    ids.add("caf\u00e9 \u20ac \ud83d\ude00 \u0000 end");
    for (int i = 0; i < 3_000; i++) {
      ids.add(randomId(random));
    }
    InMemoryEntityState state = new InMemoryEntityState();
    long forgotten = Long.MIN_VALUE;
    for (int step = 0; step < 20_000; step++) {
      String id = ids.get(random.nextInt(ids.size()));
      long time = step + random.nextInt(50);
      state.markSeen(id, time);
      model.put(id, time);
      if (step % 997 == 0) {
        forgotten = step - 2_000L;
        state.forgetSeenBefore(forgotten);
        long below = forgotten;
        model.values().removeIf(t -> t < below);
      }
      if (random.nextInt(40) == 0) {
        state = InMemoryEntityState.fromBytes(state.toBytes());
      }
      if (step % 1_000 == 0) {
        for (String any : ids) {
          assertThat(state.seenAt(any)).as(any).isEqualTo(model.getOrDefault(any, Long.MIN_VALUE));
        }
        assertThat(state.seenCount()).isEqualTo(model.size());
      }
    }
    assertThat(model).hasSizeGreaterThan(1_000);
  }

  private static String randomId(Random random) {
    StringBuilder id = new StringBuilder();
    for (int n = random.nextInt(40), i = 0; i < n; i++) {
      int kind = random.nextInt(4);
      if (kind == 3) {
        id.appendCodePoint(0x10000 + random.nextInt(0x10FFFF - 0x10000));
      } else if (kind == 2) {
        id.append((char) (0x80 + random.nextInt(0xD7FF - 0x80)));
      } else {
        id.append((char) ('0' + random.nextInt(75)));
      }
    }
    return id.toString();
  }

  @Test
  void stateBytesOfTheEarlierFormatAreRead() throws Exception {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.io.DataOutputStream out = new java.io.DataOutputStream(bytes)) {
      out.writeByte(1);
      out.writeLong(90_000);
      out.writeInt(2);
      out.writeUTF("e1");
      out.writeLong(60_000);
      out.writeUTF("\u00e9\ud83d\ude00");
      out.writeLong(90_000);
      out.writeInt(1);
      out.writeInt(0);
      out.writeInt(1);
      out.writeLong(60_000);
      out.writeInt(3);
      out.write(new byte[] {1, 2, 3});
    }

    InMemoryEntityState state = InMemoryEntityState.fromBytes(bytes.toByteArray());

    assertThat(state.maxEventTime()).isEqualTo(90_000);
    assertThat(state.seenAt("e1")).isEqualTo(60_000);
    assertThat(state.seenAt("\u00e9\ud83d\ude00")).isEqualTo(90_000);
    assertThat(state.seenAt("e2")).isEqualTo(Long.MIN_VALUE);
    assertThat(state.tile(0, 60_000)).containsExactly(1, 2, 3);
    InMemoryEntityState again = InMemoryEntityState.fromBytes(state.toBytes());
    assertThat(again.seenCount()).isEqualTo(2);
    assertThat(again.seenAt("\u00e9\ud83d\ude00")).isEqualTo(90_000);
  }

  @Test
  void randomBytesAreRefusedWithAReasonAndNeverReadAsAState() {
    Random random = new Random(5);
    InMemoryEntityState state = new InMemoryEntityState();
    for (int i = 0; i < 50; i++) {
      state.markSeen("id-" + i, i);
    }
    byte[] good = state.toBytes();
    for (int trial = 0; trial < 5_000; trial++) {
      byte[] bytes = trial % 2 == 0 ? good.clone() : new byte[random.nextInt(200)];
      if (trial % 2 == 0) {
        bytes[random.nextInt(bytes.length)] = (byte) random.nextInt();
      } else {
        random.nextBytes(bytes);
      }
      try {
        InMemoryEntityState read = InMemoryEntityState.fromBytes(bytes);
        read.seenAt("id-7");
        read.toBytes();
      } catch (IllegalArgumentException refused) {
        assertThat(refused.getMessage()).startsWith("entity state");
      }
    }
  }

  /** An engine's keyed map of seen ids, as a map. */
  private static final class MapSeenIds implements SeenIdStore {
    final Map<String, Long> ids = new HashMap<>();

    @Override
    public long seenAt(String eventId) {
      return ids.getOrDefault(eventId, Long.MIN_VALUE);
    }

    @Override
    public void markSeen(String eventId, long eventTimeMs) {
      ids.put(eventId, eventTimeMs);
    }

    @Override
    public void forgetBefore(long eventTimeMs) {
      ids.values().removeIf(t -> t < eventTimeMs);
    }
  }

  @Test
  void seenIdsKeptOutsideStayOutOfTheBytesAndIdsInsideAreMovedOut() {
    InMemoryEntityState inside = new InMemoryEntityState();
    inside.markSeen("a", 10);
    inside.markSeen("b", 20);
    inside.forgetSeenBefore(15);
    inside.putTile(0, 0, new byte[] {7});
    MapSeenIds map = new MapSeenIds();

    InMemoryEntityState outside = InMemoryEntityState.fromBytes(inside.toBytes(), map);
    outside.markSeen("c", 30);

    assertThat(map.ids).containsExactlyInAnyOrderEntriesOf(Map.of("b", 20L, "c", 30L));
    assertThat(outside.seenAt("b")).isEqualTo(20);
    assertThat(outside.tile(0, 0)).containsExactly(7);
    InMemoryEntityState back = InMemoryEntityState.fromBytes(outside.toBytes());
    assertThat(back.seenCount()).isZero();
    assertThat(back.tile(0, 0)).containsExactly(7);
    assertThat(outside.toBytes().length).isLessThan(inside.toBytes().length);
  }

  @Test
  void anEntityWithItsSeenIdsOutsideProcessesAsOneWithThemInside() {
    List<Event> events = GoldenStream.generate(9, 4_000, 10, START, 3 * 3_600_000L);
    FeatureProcessor processor =
        FeatureProcessor.of(GoldenStream.spec(), GoldenStream.SOURCE, "test");
    Map<String, byte[]> stored = new HashMap<>();
    Map<String, MapSeenIds> maps = new HashMap<>();
    List<String> out = new ArrayList<>();
    for (Event e : events) {
      MapSeenIds map = maps.computeIfAbsent(e.getEntityId(), k -> new MapSeenIds());
      byte[] bytes = stored.get(e.getEntityId());
      InMemoryEntityState state =
          bytes == null ? new InMemoryEntityState(map) : InMemoryEntityState.fromBytes(bytes, map);
      record(processor.process(state, e, START), e, out);
      stored.put(e.getEntityId(), state.toBytes());
    }

    assertThat(out).isEqualTo(outcomes(events, 0));
  }

  @Test
  void bytesOfAnotherFormatOrCutShortAreRefused() {
    InMemoryEntityState state = new InMemoryEntityState();
    state.markSeen("e1", 5);
    state.putTile(0, 60_000, new byte[] {1, 2, 3});
    byte[] bytes = state.toBytes();

    InMemoryEntityState back = InMemoryEntityState.fromBytes(bytes);
    assertThat(back.seenAt("e1")).isEqualTo(5);
    assertThat(back.tile(0, 60_000)).containsExactly(1, 2, 3);

    byte[] future = bytes.clone();
    future[0] = 9;
    assertThatThrownBy(() -> InMemoryEntityState.fromBytes(future))
        .hasMessageContaining("format 9");
    assertThatThrownBy(() -> InMemoryEntityState.fromBytes(new byte[0]))
        .hasMessageContaining("cut short");
    assertThatThrownBy(
            () -> InMemoryEntityState.fromBytes(java.util.Arrays.copyOf(bytes, bytes.length - 2)))
        .hasMessageContaining("cut short");
  }
}
