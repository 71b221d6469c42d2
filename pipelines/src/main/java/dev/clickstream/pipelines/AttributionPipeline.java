package dev.clickstream.pipelines;

import dev.clickstream.features.ClickAttribution;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.AttributeClicks;
import dev.clickstream.transforms.ProcessingClock;
import dev.clickstream.transforms.TooLateEvents;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.joda.time.Duration;

/**
 * Click attribution per item over 5-minute windows, from {@link FeatureDefinitions#ITEM_ATTRIBUTION_5MIN}.
 *
 * <p>Steps:
 *
 * <ol>
 *   <li>ReadEvents, ParseEvents, AssignEventTime: as in {@link CtrPipeline}.
 *   <li>AttributeClicks: each click joined to the user's latest impression of the item at most 30 minutes before
 *       it (an interval join on keyed state), then impressions, clicks, attributed clicks and time to click summed
 *       per item and window.
 *   <li>WriteOnlineStore: rows with attributed CTR and mean time to click (a row that cannot be computed to
 *       the dead letters), upserted into {@code item_attribution_5min}, one row per item holding its latest window.
 *   <li>WriteDeadLetters: rejected records, and clicks that arrived too late to attribute.
 * </ol>
 */
public final class AttributionPipeline {
  public static final ClickAttribution FEATURE = FeatureDefinitions.ITEM_ATTRIBUTION_5MIN;

  private AttributionPipeline() {}

  public static void main(String[] args) {
    CtrPipelineOptions options =
        PipelineOptionsFactory.fromArgs(args).withValidation().as(CtrPipelineOptions.class);
    run(options);
  }

  /** Runs the pipeline as {@link PipelineMain} does: to the end, unless Flink's CLI submits it detached. */
  public static PipelineResult run(ClickstreamOptions options) {
    Pipeline pipeline = Pipeline.create(options);
    build(pipeline, options, ProcessingClock.SYSTEM);
    return PipelineMain.run(pipeline);
  }

  /** Adds the whole attribution pipeline to {@code pipeline}: read, parse, attribute, write, dead letters. */
  public static PCollection<DeadLetter> build(Pipeline pipeline, ClickstreamOptions options, ProcessingClock clock) {
    return EventInput.around(pipeline, options, "attribution", events -> buildFrom(events, options, clock));
  }

  /**
   * The attribution steps over parsed events stamped with their event time; the returned dead letters are the
   * clicks that arrived too late, for the caller to write with its others.
   */
  public static PCollection<DeadLetter> buildFrom(
      PCollection<ClickEvent> events, ClickstreamOptions options, ProcessingClock clock) {
    Duration allowedLateness = options.getAllowedLateness().toDuration();
    PCollectionTuple attribution =
        events.apply("AttributeClicks", AttributeClicks.of(FEATURE).withAllowedLateness(allowedLateness));
    PCollection<AttributeClicks.ItemWindow> rows = attribution.get(AttributeClicks.COUNTS);
    PCollection<DeadLetter> failedRows =
        rows.apply(
            "WriteOnlineStore",
            WriteFeatureRows.into(
                FEATURE.table(),
                (AttributeClicks.ItemWindow row) -> row(row, clock.nowMillis()),
                options));
    PCollection<DeadLetter> tooLate =
        attribution
            .get(AttributeClicks.TOO_LATE_CLICKS)
            .apply("TooLateToDeadLetters", TooLateEvents.rowsToDeadLetters("AttributeClicks", allowedLateness));
    return PCollectionList.of(tooLate)
            .and(failedRows)
        .apply("FeatureDeadLetters", Flatten.pCollections());
  }

  /** An {@code item_attribution_5min} row. */
  static Object[] row(AttributeClicks.ItemWindow window, long updatedAt) {
    AttributeClicks.Counts counts = window.counts();
    return FEATURE.row(
        window.item(), window.windowStart(), window.windowEnd(), counts.impressions(), counts.clicks(),
        counts.attributedClicks(), counts.sumTimeToClickMillis(), updatedAt);
  }
}
