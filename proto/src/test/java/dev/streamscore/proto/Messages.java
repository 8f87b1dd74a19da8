package dev.streamscore.proto;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Parser;

/** For tests that read our records back: a record that does not parse fails the test. */
public final class Messages {
  private Messages() {}

  /** {@code bytes} as a message of {@code parser}'s type ({@code DeadLetter.parser()}). */
  public static <T> T parse(Parser<T> parser, byte[] bytes) {
    try {
      return parser.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError("not a message of the expected type: " + e.getMessage(), e);
    }
  }
}
