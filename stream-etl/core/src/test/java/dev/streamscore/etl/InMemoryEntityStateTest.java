package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamscore.proto.v1.Event;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InMemoryEntityStateTest {
  private static final long START = 1_764_000_000_000L;

  /** Tile versions and rejections per event, processed with the given state handling. */
  private static List<String> outcomes(List<Event> events, boolean throughBytes) {
    FeatureProcessor processor =
        FeatureProcessor.of(GoldenStream.spec(), GoldenStream.SOURCE, "test");
    Map<String, byte[]> stored = new HashMap<>();
    Map<String, InMemoryEntityState> live = new HashMap<>();
    List<String> out = new ArrayList<>();
    for (Event e : events) {
      InMemoryEntityState state;
      if (throughBytes) {
        byte[] bytes = stored.get(e.getEntityId());
        state = bytes == null ? new InMemoryEntityState() : InMemoryEntityState.fromBytes(bytes);
      } else {
        state = live.computeIfAbsent(e.getEntityId(), k -> new InMemoryEntityState());
      }
      FeatureProcessor.Outcome outcome = processor.process(state, e, START);
      for (TileUpdate u : outcome.updates()) {
        out.add(u.view() + ":" + u.entityId() + "@" + u.tileStartMs() + "=" + u.row());
      }
      for (Rejection r : outcome.rejections()) {
        out.add(e.getEventId() + " " + r);
      }
      if (throughBytes) {
        stored.put(e.getEntityId(), state.toBytes());
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
    assertThatThrownBy(
            () -> InMemoryEntityState.fromBytes(java.util.Arrays.copyOf(bytes, bytes.length - 2)))
        .hasMessageContaining("cut short");
  }
}
