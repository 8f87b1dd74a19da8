package dev.streamscore.proto.v1;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients in other languages can use the contracts: Debian's python3-grpc-tools generates stubs
 * from {@code proto/}, and Python imports them and builds a message.
 */
class PythonStubsIT {
  private static final Path PROTO_DIR =
      Path.of(System.getProperty("streamscore.proto.dir", "src/main/proto"));

  @Test
  void generatesAndImportsPythonStubs(@TempDir Path out) throws Exception {
    PythonTools.requireGrpcTools();
    PythonTools.generateStubs(PROTO_DIR, out);

    String script =
        String.join(
            "\n",
            "from streamscore.v1 import event_pb2, scoring_pb2, scoring_pb2_grpc, registry_pb2_grpc",
            "from streamscore.v1 import ingest_pb2_grpc, feature_pb2_grpc",
            "e = event_pb2.Event(source='payments', entity_id='u1', event_time_ms=5)",
            "e.fields['amount'].double_value = 2.5",
            "assert event_pb2.Event.FromString(e.SerializeToString()) == e",
            "r = scoring_pb2.PredictRequest(request_id='r1')",
            "r.model.name = 'fraud'",
            "assert hasattr(scoring_pb2_grpc, 'ScoringStub')",
            "print('ok')");
    assertThat(PythonTools.run(List.of(PythonTools.PYTHON.toString(), "-c", script), out))
        .containsExactly("ok");
  }
}
