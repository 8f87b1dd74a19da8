package dev.streamscore.etl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamscore.proto.v1.DeadLetter;
import java.security.MessageDigest;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class DeadLettersTest {
  private static byte[] bytes(int size) {
    byte[] b = new byte[size];
    Arrays.fill(b, (byte) 'x');
    return b;
  }

  @Test
  void keepsKeyAndValueWholeUpToTheLimit() {
    byte[] key = bytes(1_000);
    byte[] value = bytes(DeadLetters.MAX_ORIGINAL_BYTES - 1_000);

    DeadLetter letter = DeadLetters.withOriginal(DeadLetter.newBuilder(), key, value).build();

    assertThat(letter.getOriginalTruncated()).isFalse();
    assertThat(letter.getOriginalValue().size()).isEqualTo(value.length);
    assertThat(letter.getOriginalKey().size()).isEqualTo(key.length);
    assertThat(letter.getOriginalValueSize()).isEqualTo(value.length);
    assertThat(letter.getOriginalValueSha256().isEmpty()).isTrue();
  }

  @Test
  void keepsAPrefixSizeAndDigestPastTheLimitSoTheLetterFitsKafka() throws Exception {
    byte[] value = bytes(DeadLetters.MAX_ORIGINAL_BYTES + 1);

    DeadLetter letter = DeadLetters.withOriginal(DeadLetter.newBuilder(), null, value).build();

    assertThat(letter.getOriginalTruncated()).isTrue();
    assertThat(letter.getOriginalValue().size()).isEqualTo(DeadLetters.PREFIX_BYTES);
    assertThat(letter.getOriginalValueSize()).isEqualTo(value.length);
    assertThat(letter.getOriginalValueSha256().toByteArray())
        .isEqualTo(MessageDigest.getInstance("SHA-256").digest(value));
    assertThat(letter.getOriginalKey().isEmpty()).isTrue();
    assertThat(letter.getSerializedSize()).isLessThan(DeadLetters.PREFIX_BYTES + 1_000);
  }

  @Test
  void cutsAHugeKeyTooWhenTogetherTheyPassTheLimit() {
    byte[] key = bytes(900_000);
    byte[] value = bytes(200_000);

    DeadLetter letter = DeadLetters.withOriginal(DeadLetter.newBuilder(), key, value).build();

    assertThat(letter.getOriginalKey().size()).isEqualTo(DeadLetters.PREFIX_BYTES);
    assertThat(letter.getOriginalValue().size()).isEqualTo(DeadLetters.PREFIX_BYTES);
    assertThat(letter.getOriginalKeySize()).isEqualTo(900_000);
    assertThat(letter.getSerializedSize()).isLessThan(2 * DeadLetters.PREFIX_BYTES + 1_000);
  }

  @Test
  void cutsLongMessagesAndNamesTheFailureWithoutAStackTrace() {
    assertThat(DeadLetters.message("m".repeat(10_000)))
        .hasSize(DeadLetters.MAX_MESSAGE_CHARS - 20 + "… (10000 chars)".length())
        .endsWith("… (10000 chars)");
    assertThat(DeadLetters.internal("validator", new NullPointerException()))
        .isEqualTo("validator could not process this record: NullPointerException");
  }
}
