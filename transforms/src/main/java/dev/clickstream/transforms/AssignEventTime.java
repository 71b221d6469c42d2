package dev.clickstream.transforms;

import dev.clickstream.schemas.ClickEvent;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.WithTimestamps;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Instant;

/**
 * Stamps each event with its own {@code timestamp} (epoch milliseconds) as its Beam event time.
 *
 * <p>For bounded file input every element starts at the minimum timestamp, so moving it forward is always
 * allowed. Streaming sources assign event time in the source instead. Assumes {@link ParseEvents} upstream, which
 * refuses events dated beyond its future skew, so no stamp here is far ahead of the clock.
 */
public final class AssignEventTime extends PTransform<PCollection<ClickEvent>, PCollection<ClickEvent>> {

  private AssignEventTime() {}

  public static AssignEventTime fromEventTimestamp() {
    return new AssignEventTime();
  }

  @Override
  public PCollection<ClickEvent> expand(PCollection<ClickEvent> events) {
    return events.apply(
        "StampWithEventTimestamp", WithTimestamps.of((ClickEvent event) -> new Instant(event.getTimestamp())));
  }
}
