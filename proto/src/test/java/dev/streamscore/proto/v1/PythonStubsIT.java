package dev.streamscore.proto.v1;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients in other languages can use the contracts: Debian's python3-grpc-tools generates stubs
 * from {@code proto/}, and Python imports them and builds a message.
 */
class PythonStubsIT {
  // Debian's Python packages belong to /usr/bin/python3, not to whatever python3 is first on PATH.
  private static final Path PYTHON = Path.of("/usr/bin/python3");
  private static final Path PROTO_DIR =
      Path.of(System.getProperty("streamscore.proto.dir", "src/main/proto"));

  @Test
  void generatesAndImportsPythonStubs(@TempDir Path out) throws Exception {
    requireGrpcTools();
    List<String> protos;
    try (Stream<Path> files = Files.walk(PROTO_DIR)) {
      protos =
          files
              .filter(f -> f.toString().endsWith(".proto"))
              .map(f -> PROTO_DIR.relativize(f).toString())
              .sorted()
              .toList();
    }
    List<String> command = new ArrayList<>(List.of(PYTHON.toString(), "-m", "grpc_tools.protoc"));
    command.addAll(List.of("-I" + PROTO_DIR, "--python_out=" + out, "--grpc_python_out=" + out));
    command.addAll(protos);
    assertThat(run(command, out)).isEmpty();

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
    assertThat(run(List.of(PYTHON.toString(), "-c", script), out)).containsExactly("ok");
  }

  private static void requireGrpcTools() throws Exception {
    boolean present =
        Files.isExecutable(PYTHON)
            && new ProcessBuilder(PYTHON.toString(), "-c", "import grpc_tools, grpc")
                    .start()
                    .waitFor()
                == 0;
    if (!present && System.getenv("CI") == null) {
      Assumptions.abort(
          "python3-grpc-tools is not installed (Debian: apt-get install python3-grpcio"
              + " python3-grpc-tools); .ci/run installs it");
    }
    assertThat(present).as("/usr/bin/python3 with grpc_tools must be installed in CI").isTrue();
  }

  private static List<String> run(List<String> command, Path dir)
      throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("%s\n%s", command, output).isZero();
    return output.lines().toList();
  }
}
