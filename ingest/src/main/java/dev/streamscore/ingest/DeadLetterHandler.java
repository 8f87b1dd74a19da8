package dev.streamscore.ingest;

import dev.streamscore.etl.DeadLetters;
import dev.streamscore.etl.RecordOrigin;
import dev.streamscore.proto.v1.DeadLetter;
import dev.streamscore.proto.v1.RejectReason;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last line of defence of a Kafka Streams stage (the validator, stream scoring): a record that
 * the stage's own code fails on, or whose output Kafka refuses for a reason that retrying cannot
 * cure, becomes an INTERNAL dead letter holding the source record's bytes, and the stage goes on.
 * Without it, Kafka Streams stops on such a record and stops again on the same offset after every
 * restart.
 *
 * <p>The stages handle every input they know of themselves; this handler catches defects. It is
 * configured through {@link #configure(Properties, String, String, Consumer)}, which Kafka Streams
 * hands back to the instance it creates. Retriable production errors are retried.
 */
public final class DeadLetterHandler
    implements ProcessingExceptionHandler, ProductionExceptionHandler {
  private static final Logger LOG = LoggerFactory.getLogger(DeadLetterHandler.class);
  private static final String TOPIC = "streamscore.dead-letter.topic";
  private static final String STAGE = "streamscore.dead-letter.stage";
  private static final String LISTENER = "streamscore.dead-letter.listener";

  private String topic;
  private String stage;
  private Consumer<String> listener;
  private Clock clock = Clock.systemUTC();

  /** For Kafka Streams, which creates the handler from its class name. */
  public DeadLetterHandler() {}

  /**
   * Sets {@code properties} up to use this handler for processing and production errors.
   *
   * @param dlqTopic where the dead letters go
   * @param stage the stage named in them ({@code validator}, {@code stream-scoring})
   * @param listener told the source topic of every record set aside, for counting; it must not
   *     throw
   */
  public static void configure(
      Properties properties, String dlqTopic, String stage, Consumer<String> listener) {
    properties.put(
        StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetterHandler.class);
    properties.put(
        StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetterHandler.class);
    properties.put(TOPIC, dlqTopic);
    properties.put(STAGE, stage);
    properties.put(LISTENER, listener);
  }

  @Override
  @SuppressWarnings("unchecked")
  public void configure(Map<String, ?> configs) {
    topic = Objects.requireNonNull((String) configs.get(TOPIC), TOPIC);
    stage = Objects.requireNonNull((String) configs.get(STAGE), STAGE);
    Object l = configs.get(LISTENER);
    listener = l == null ? source -> {} : (Consumer<String>) l;
  }

  /**
   * Thrown by a stage that cannot process a record yet (its model is not loaded, say) and wants the
   * record again rather than set aside: the handler fails the stream thread, whose transaction
   * aborts, and the stage's uncaught-exception handler decides what follows.
   */
  public static final class NotYet extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public NotYet(String message) {
      super(message);
    }
  }

  @Override
  public ProcessingExceptionHandler.Response handleError(
      ErrorHandlerContext context, Record<?, ?> record, Exception exception) {
    for (Throwable t = exception; t != null; t = t.getCause()) {
      if (t instanceof NotYet) {
        return ProcessingExceptionHandler.Response.fail();
      }
    }
    return ProcessingExceptionHandler.Response.resume(List.of(letter(context, exception)));
  }

  @Override
  public ProductionExceptionHandler.Response handleError(
      ErrorHandlerContext context, ProducerRecord<byte[], byte[]> record, Exception exception) {
    if (exception instanceof RetriableException) {
      return ProductionExceptionHandler.Response.retry();
    }
    return ProductionExceptionHandler.Response.resume(List.of(letter(context, exception)));
  }

  @Override
  @SuppressWarnings("rawtypes")
  public ProductionExceptionHandler.Response handleSerializationError(
      ErrorHandlerContext context,
      ProducerRecord record,
      Exception exception,
      SerializationExceptionOrigin origin) {
    return ProductionExceptionHandler.Response.resume(List.of(letter(context, exception)));
  }

  private ProducerRecord<byte[], byte[]> letter(ErrorHandlerContext context, Exception exception) {
    String message = DeadLetters.internal(stage, exception);
    LOG.warn(
        "{}: set aside {}-{}@{} as INTERNAL: {}",
        stage,
        context.topic(),
        context.partition(),
        context.offset(),
        message);
    LOG.debug("{}: the failure", stage, exception);
    String source = context.topic() == null || context.topic().isBlank() ? "?" : context.topic();
    int dot = source.indexOf('.');
    DeadLetter letter =
        DeadLetters.of(
            new DeadLetters.Original(
                dot < 0 ? source : source.substring(dot + 1),
                new RecordOrigin(
                    source, Math.max(-1, context.partition()), Math.max(-1, context.offset())),
                context.timestamp(),
                context.sourceRawKey(),
                context.sourceRawValue()),
            RejectReason.REJECT_REASON_INTERNAL,
            "",
            message,
            stage,
            clock.millis());
    try {
      listener.accept(source);
    } catch (RuntimeException e) {
      LOG.warn("{}: the dead-letter listener failed: {}", stage, e.toString());
    }
    long now = clock.millis();
    // Kafka refuses negative record timestamps, and brokers refuse ones too far ahead.
    long timestamp =
        context.timestamp() >= 0 && context.timestamp() <= now ? context.timestamp() : now;
    return new ProducerRecord<>(
        topic, null, timestamp, context.sourceRawKey(), letter.toByteArray());
  }
}
