package dev.clickstream.pipelines;

/**
 * The reason of the dead letters of events too late to apply, as the Kafka reader names it; the features' own late
 * events become dead letters in {@link dev.clickstream.transforms.TooLateEvents}.
 */
final class TooLateEvents {
  static final String REASON = dev.clickstream.transforms.TooLateEvents.REASON;

  private TooLateEvents() {}
}
