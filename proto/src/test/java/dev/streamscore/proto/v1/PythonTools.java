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

/** Debian's Python gRPC tools for tests of clients in other languages. */
public final class PythonTools {
  /** Debian's Python packages belong to /usr/bin/python3, not whatever python3 is first on PATH. */
  public static final Path PYTHON = Path.of("/usr/bin/python3");

  private PythonTools() {}

  /** Skips the test on a developer machine without the tools; fails in CI, which installs them. */
  public static void requireGrpcTools() throws Exception {
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

  /**
   * Generates Python messages and stubs for every .proto under {@code protoDir} into {@code out}.
   */
  public static void generateStubs(Path protoDir, Path out) throws Exception {
    Path root = protoDir.toAbsolutePath().normalize();
    List<String> protos;
    try (Stream<Path> files = Files.walk(root)) {
      protos =
          files
              .filter(f -> f.toString().endsWith(".proto"))
              .map(f -> root.relativize(f).toString())
              .sorted()
              .toList();
    }
    List<String> command = new ArrayList<>(List.of(PYTHON.toString(), "-m", "grpc_tools.protoc"));
    command.addAll(List.of("-I" + root, "--python_out=" + out, "--grpc_python_out=" + out));
    command.addAll(protos);
    assertThat(run(command, out)).isEmpty();
  }

  /** Runs {@code command} in {@code dir}; fails unless it exits 0 within 2 minutes. */
  public static List<String> run(List<String> command, Path dir)
      throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("%s\n%s", command, output).isZero();
    return output.lines().toList();
  }
}
