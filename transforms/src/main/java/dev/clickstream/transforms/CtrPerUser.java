package dev.clickstream.transforms;

import dev.clickstream.schemas.ClickEvent;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.transforms.Filter;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;

/**
 * Click-through rate per user over tumbling event-time windows: impressions, clicks and {@link CtrCounts#ctr()}.
 *
 * <p>Input events must carry their event time (see {@link AssignEventTime}). Only {@code impression} and {@code
 * click} events count; a window holding neither produces nothing. Output panes accumulate (see {@link
 * TumblingWindowAggregate}).
 */
public final class CtrPerUser extends PTransform<PCollection<ClickEvent>, PCollection<KV<String, CtrCounts>>> {
  public static final Duration FIVE_MINUTES = Duration.standardMinutes(5);

  private final TumblingWindowAggregate<String, String, CtrCounts> aggregate;

  private CtrPerUser(TumblingWindowAggregate<String, String, CtrCounts> aggregate) {
    this.aggregate = aggregate;
  }

  /** CTR over 5-minute windows aligned to the epoch, with no allowed lateness. */
  public static CtrPerUser overFiveMinuteWindows() {
    return new CtrPerUser(
        TumblingWindowAggregate.<String, String, CtrCounts>of(new CountImpressionsAndClicks())
            .withWindowSize(FIVE_MINUTES));
  }

  public CtrPerUser withWindowSize(Duration size) {
    return new CtrPerUser(aggregate.withWindowSize(size));
  }

  public CtrPerUser withAllowedLateness(Duration lateness) {
    return new CtrPerUser(aggregate.withAllowedLateness(lateness));
  }

  public CtrPerUser withEarlyFiringsEvery(Duration delay) {
    return new CtrPerUser(aggregate.withEarlyFiringsEvery(delay));
  }

  @Override
  public PCollection<KV<String, CtrCounts>> expand(PCollection<ClickEvent> events) {
    return events
        .apply(
            "KeepImpressionsAndClicks",
            Filter.by(
                (ClickEvent event) ->
                    CountImpressionsAndClicks.IMPRESSION.equals(event.getEventType())
                        || CountImpressionsAndClicks.CLICK.equals(event.getEventType())))
        .apply(
            "KeyByUser",
            MapElements.into(TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()))
                .via((ClickEvent event) -> KV.of(event.getUserId(), event.getEventType())))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()))
        .apply("AggregatePerWindow", aggregate);
  }
}
