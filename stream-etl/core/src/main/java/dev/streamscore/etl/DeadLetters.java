package dev.streamscore.etl;

import com.google.protobuf.ByteString;
import dev.streamscore.proto.v1.DeadLetter;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The one way every stage fills a dead letter's original bytes and message, so that a dead letter
 * always fits a Kafka record: a letter that cannot be written would stop the stage on the record it
 * is meant to set aside.
 *
 * <p>Key and value are kept whole while together they fit {@link #MAX_ORIGINAL_BYTES}; past that,
 * each part larger than {@link #PREFIX_BYTES} keeps only its first {@code PREFIX_BYTES}, with its
 * full size and SHA-256, and {@code original_truncated} is set. Messages are cut at {@link
 * #MAX_MESSAGE_CHARS}.
 */
public final class DeadLetters {
  /**
   * The most original bytes (key plus value) a letter keeps whole: below Kafka's default 1 MiB
   * producer request and broker message limits, with room for the letter's other fields.
   */
  public static final int MAX_ORIGINAL_BYTES = 1_000_000;

  /** How much of an original part a truncated letter keeps. */
  public static final int PREFIX_BYTES = 64 * 1024;

  /** The longest message a letter carries. */
  public static final int MAX_MESSAGE_CHARS = 2_000;

  private DeadLetters() {}

  /**
   * The record a dead letter sets aside.
   *
   * @param source the declared source, or the name the record claimed for an unknown one
   * @param origin where it was read ({@code -1, -1} for an event that came through the gateway)
   * @param timestampMs its Kafka timestamp (negative values are written as 0: unknown)
   * @param key its key, or null
   * @param value its value, or null for a tombstone
   */
  public record Original(
      String source, RecordOrigin origin, long timestampMs, byte[] key, byte[] value) {
    public Original {
      java.util.Objects.requireNonNull(source, "source");
      java.util.Objects.requireNonNull(origin, "origin");
    }
  }

  /**
   * The dead letter of {@code original}: the one place every stage (gateway, validator, both ETL
   * engines, stream scoring, the exception handlers) builds one.
   *
   * @param field the offending field, or empty
   * @param message one sentence naming the field and the problem; cut to {@link #MAX_MESSAGE_CHARS}
   * @param stage {@code gateway}, {@code validator}, {@code etl-flink}, {@code etl-spark}, {@code
   *     stream-scoring}
   * @param nowMs when it was rejected
   */
  public static DeadLetter of(
      Original original,
      dev.streamscore.proto.v1.RejectReason reason,
      String field,
      String message,
      String stage,
      long nowMs) {
    return withOriginal(
            DeadLetter.newBuilder()
                .setSource(original.source())
                .setSourceTopic(original.origin().topic())
                .setSourcePartition(original.origin().partition())
                .setSourceOffset(original.origin().offset())
                .setReason(reason)
                .setMessage(message(message))
                .setField(field)
                .setRejectedAtMs(nowMs)
                .setStage(stage)
                .setOriginalTimestampMs(Math.max(0, original.timestampMs())),
            original.key(),
            original.value())
        .build();
  }

  /**
   * Sets {@code original_key}, {@code original_value}, their sizes and, when cut, their digests.
   *
   * @param key the original key, or null when it had none
   * @param value the original value, or null for a tombstone
   */
  static DeadLetter.Builder withOriginal(DeadLetter.Builder letter, byte[] key, byte[] value) {
    int keySize = key == null ? 0 : key.length;
    int valueSize = value == null ? 0 : value.length;
    letter.setOriginalKeySize(keySize).setOriginalValueSize(valueSize);
    boolean cut = (long) keySize + valueSize > MAX_ORIGINAL_BYTES;
    boolean keyCut = keep(key, cut, letter::setOriginalKey, letter::setOriginalKeySha256);
    boolean valueCut = keep(value, cut, letter::setOriginalValue, letter::setOriginalValueSha256);
    return letter.setOriginalTruncated(keyCut || valueCut);
  }

  /** Sets one original part, whole or (when cutting and it is large) its prefix and digest. */
  private static boolean keep(
      byte[] part,
      boolean cut,
      java.util.function.Consumer<ByteString> bytes,
      java.util.function.Consumer<ByteString> digest) {
    if (part == null) {
      return false;
    }
    if (cut && part.length > PREFIX_BYTES) {
      bytes.accept(ByteString.copyFrom(part, 0, PREFIX_BYTES));
      digest.accept(sha256(part));
      return true;
    }
    bytes.accept(ByteString.copyFrom(part));
    return false;
  }

  /** {@code message}, cut to {@link #MAX_MESSAGE_CHARS} with a marker when longer. */
  public static String message(String message) {
    if (message == null) {
      return "";
    }
    if (message.length() <= MAX_MESSAGE_CHARS) {
      return message;
    }
    return message.substring(0, MAX_MESSAGE_CHARS - 20) + "… (" + message.length() + " chars)";
  }

  /**
   * One sentence for a failure of the stage itself: the exception's class and message, cut to
   * length. Never includes a stack trace.
   */
  public static String internal(String stage, Throwable error) {
    String text = error.getMessage();
    return message(
        stage
            + " could not process this record: "
            + error.getClass().getSimpleName()
            + (text == null || text.isBlank() ? "" : ": " + text));
  }

  static ByteString sha256(byte[] bytes) {
    try {
      return ByteString.copyFrom(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }
}
