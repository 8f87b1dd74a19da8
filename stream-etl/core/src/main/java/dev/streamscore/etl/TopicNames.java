package dev.streamscore.etl;

/**
 * Every topic name of the platform, made in this one place: {@code raw.<source>} (producers' JSON),
 * {@code events.<source>} (validated events), {@code features.<view>} (tile rows), {@code
 * predictions.<model>} (the prediction log), {@code labels.<source>} (outcomes) and the dead-letter
 * topic {@code events.dlq}, with {@code dlq.redrives} recording the dead letters sent back.
 */
public final class TopicNames {
  /** The dead-letter topic of every stage. */
  public static final String DLQ = "events.dlq";

  /** The record of every dead letter sent back to its raw topic ({@code Redrive} messages). */
  public static final String REDRIVES = "dlq.redrives";

  private static final String RAW = "raw.";
  private static final String EVENTS = "events.";
  private static final String FEATURES = "features.";
  private static final String PREDICTIONS = "predictions.";
  private static final String LABELS = "labels.";

  private TopicNames() {}

  /** {@code raw.<source>}. */
  public static String raw(String source) {
    return RAW + source;
  }

  /** {@code events.<source>}. */
  public static String events(String source) {
    return EVENTS + source;
  }

  /** {@code features.<view>}. */
  public static String features(String view) {
    return FEATURES + view;
  }

  /** {@code predictions.<model>}. */
  public static String predictions(String model) {
    return PREDICTIONS + model;
  }

  /** {@code labels.<source>}: outcomes of scored events and requests, published later. */
  public static String labels(String source) {
    return LABELS + source;
  }

  /** True for {@code labels.<source>}. */
  public static boolean isLabels(String topic) {
    return topic.startsWith(LABELS) && topic.length() > LABELS.length();
  }

  /** True for {@code predictions.<model>}. */
  public static boolean isPredictions(String topic) {
    return topic.startsWith(PREDICTIONS) && topic.length() > PREDICTIONS.length();
  }

  /** True for {@code raw.<anything>}. */
  public static boolean isRaw(String topic) {
    return topic.startsWith(RAW) && topic.length() > RAW.length();
  }

  /** True for {@code events.<source>} (not the dead-letter topic). */
  public static boolean isEvents(String topic) {
    return topic.startsWith(EVENTS) && !topic.equals(DLQ) && topic.length() > EVENTS.length();
  }

  /** The source a raw topic belongs to: {@code payments} for {@code raw.payments}. */
  public static String sourceOfRaw(String topic) {
    if (!isRaw(topic)) {
      throw new IllegalArgumentException("'" + topic + "' is not a raw.<source> topic");
    }
    return topic.substring(RAW.length());
  }

  /** The regular expression of every raw topic, for pattern subscriptions. */
  public static String rawPattern() {
    return "raw\\..+";
  }
}
