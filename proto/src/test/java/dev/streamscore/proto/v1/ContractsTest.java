package dev.streamscore.proto.v1;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class ContractsTest {
  private static final Path PROTO_DIR =
      Path.of(System.getProperty("streamscore.proto.dir", "src/main/proto"));
  private static final Path GOLDEN = Path.of("src/test/resources/wire-v1.txt");
  private static final List<FileDescriptor> FILES =
      List.of(
          CommonProto.getDescriptor(),
          EventProto.getDescriptor(),
          FeatureProto.getDescriptor(),
          IngestProto.getDescriptor(),
          ScoringProto.getDescriptor(),
          RegistryProto.getDescriptor());

  /**
   * Every message, field, enum value, service and method has a comment line right above it: the
   * contracts are documented field by field.
   */
  @Test
  void everyDeclarationIsDocumented() throws IOException {
    Pattern declaration =
        Pattern.compile(
            "^\\s*(message|enum|service|rpc|oneof)\\s+\\w+.*"
                + "|^\\s*(repeated\\s+|optional\\s+)?[\\w.<>, ]+\\s+\\w+\\s*=\\s*\\d+\\s*;.*"
                + "|^\\s*[A-Z][A-Z0-9_]*\\s*=\\s*\\d+\\s*;.*");
    List<String> undocumented = new ArrayList<>();
    try (Stream<Path> files = Files.walk(PROTO_DIR)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".proto")).sorted().toList()) {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
          String line = lines.get(i);
          if (line.startsWith("option ") || line.startsWith("syntax")) {
            continue;
          }
          if (declaration.matcher(line).matches()
              && (i == 0 || !lines.get(i - 1).strip().startsWith("//"))) {
            undocumented.add(PROTO_DIR.relativize(file) + ":" + (i + 1) + ": " + line.strip());
          }
        }
      }
    }
    assertThat(undocumented).as("declarations without a comment above them").isEmpty();
  }

  /**
   * Wire compatibility: no field, enum value or method of a released contract may change its
   * number, type or name, or disappear. New ones are fine but must be recorded in the golden file
   * (rerun with -Dstreamscore.updateGolden=true after a deliberate addition).
   */
  @Test
  void contractsStayWireCompatibleWithTheGoldenListing() throws IOException {
    TreeSet<String> current = new TreeSet<>();
    for (FileDescriptor file : FILES) {
      file.getMessageTypes().forEach(m -> describe(m, current));
      file.getEnumTypes().forEach(e -> describe(e, current));
      for (ServiceDescriptor service : file.getServices()) {
        service
            .getMethods()
            .forEach(
                m ->
                    current.add(
                        "rpc %s.%s(%s%s) returns (%s%s)"
                            .formatted(
                                service.getFullName(),
                                m.getName(),
                                m.isClientStreaming() ? "stream " : "",
                                m.getInputType().getFullName(),
                                m.isServerStreaming() ? "stream " : "",
                                m.getOutputType().getFullName())));
      }
    }
    if (Boolean.getBoolean("streamscore.updateGolden")) {
      Files.write(GOLDEN, current, StandardCharsets.UTF_8);
    }
    TreeSet<String> golden = new TreeSet<>(Files.readAllLines(GOLDEN, StandardCharsets.UTF_8));
    golden.removeIf(String::isBlank);

    TreeSet<String> removedOrChanged = new TreeSet<>(golden);
    removedOrChanged.removeAll(current);
    TreeSet<String> unrecorded = new TreeSet<>(current);
    unrecorded.removeAll(golden);
    assertThat(removedOrChanged).as("released declarations that changed or vanished").isEmpty();
    assertThat(unrecorded).as("new declarations missing from " + GOLDEN).isEmpty();
  }

  @Test
  void eventRoundTripsThroughItsWireForm() throws Exception {
    Event event =
        Event.newBuilder()
            .setSource("payments")
            .setEntityId("u42")
            .setEventId("e-1")
            .setEventTimeMs(1_700_000_000_000L)
            .putFields("amount", Value.newBuilder().setDoubleValue(12.5).build())
            .putFields("country", Value.newBuilder().setStringValue("DE").build())
            .build();

    Event back = Event.parseFrom(event.toByteArray());

    assertThat(back).isEqualTo(event);
    assertThat(back.getFieldsOrThrow("amount").getKindCase())
        .isEqualTo(Value.KindCase.DOUBLE_VALUE);
    assertThat(Value.getDefaultInstance().getKindCase()).isEqualTo(Value.KindCase.KIND_NOT_SET);
  }

  private static void describe(Descriptor message, TreeSet<String> out) {
    out.add("message " + message.getFullName());
    for (FieldDescriptor field : message.getFields()) {
      String type =
          switch (field.getJavaType()) {
            case MESSAGE -> field.getMessageType().getFullName();
            case ENUM -> field.getEnumType().getFullName();
            default -> field.getType().name().toLowerCase(java.util.Locale.ROOT);
          };
      out.add(
          "field %s.%s = %d %s%s%s"
              .formatted(
                  message.getFullName(),
                  field.getName(),
                  field.getNumber(),
                  field.isRepeated() ? "repeated " : "",
                  type,
                  field.getRealContainingOneof() != null
                      ? " oneof " + field.getRealContainingOneof().getName()
                      : ""));
    }
    message.getNestedTypes().forEach(n -> describe(n, out));
    message.getEnumTypes().forEach(e -> describe(e, out));
  }

  private static void describe(EnumDescriptor e, TreeSet<String> out) {
    e.getValues()
        .forEach(
            v -> out.add("enum %s.%s = %d".formatted(e.getFullName(), v.getName(), v.getNumber())));
  }
}
