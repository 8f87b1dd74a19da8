package dev.streamscore.proto;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamscore.proto.v1.PythonTools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Python partition function, run as written, agrees with {@link EntityPartitioner}.
 */
class PythonPartitionerTest {
  private static final String MARKER = "# streamscore: the entity's partition";

  @Test
  void theReadmesPythonFunctionGivesEveryEntityTheJavaPartition(@TempDir Path dir)
      throws Exception {
    assertThat(PythonTools.PYTHON).isExecutable();
    String readme = Files.readString(Path.of("..", "README.md"));
    int start = readme.indexOf("```python\n" + MARKER);
    assertThat(start).as("the README's block starting with '%s'", MARKER).isNotNegative();
    String block =
        readme.substring(start + "```python\n".length(), readme.indexOf("```", start + 9));

    SplittableRandom random = new SplittableRandom(11);
    List<String> ids = new ArrayList<>();
    List<Integer> counts = new ArrayList<>();
    StringBuilder input = new StringBuilder();
    for (int i = 0; i < 20_000; i++) {
      // Lengths 0..40 cover every tail length of murmur2; non-ASCII up to U+10FFFF, no surrogates.
      StringBuilder id = new StringBuilder();
      for (int c = random.nextInt(41); c > 0; c--) {
        int cp =
            random.nextBoolean()
                ? 'a' + random.nextInt(26)
                : 0x80 + random.nextInt(0x10FFFF - 0x80);
        id.appendCodePoint(Character.isSurrogate((char) cp) && cp < 0x10000 ? 'z' : cp);
      }
      ids.add(id.toString());
      counts.add(1 + random.nextInt(64));
      input
          .append(HexFormat.of().formatHex(id.toString().getBytes(StandardCharsets.UTF_8)))
          .append(' ')
          .append(counts.get(i))
          .append('\n');
    }
    Files.writeString(dir.resolve("ids.txt"), input);
    Files.writeString(
        dir.resolve("check.py"),
        block
            + "\nimport sys\n"
            + "for line in open(sys.argv[1]):\n"
            + "    hexed, n = line.split(' ')\n"
            + "    print(partition(bytes.fromhex(hexed).decode('utf-8'), int(n)))\n");
    List<String> out =
        PythonTools.run(List.of(PythonTools.PYTHON.toString(), "check.py", "ids.txt"), dir);

    assertThat(out).hasSize(ids.size());
    for (int i = 0; i < ids.size(); i++) {
      assertThat(Integer.parseInt(out.get(i)))
          .as("%s of %d", ids.get(i), counts.get(i))
          .isEqualTo(EntityPartitioner.partition(ids.get(i), counts.get(i)));
    }
  }
}
