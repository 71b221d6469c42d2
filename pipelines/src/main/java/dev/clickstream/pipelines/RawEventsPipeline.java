package dev.clickstream.pipelines;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.EntityPartials;
import dev.clickstream.transforms.FeatureEvent;
import dev.clickstream.transforms.ParseEvents;
import dev.clickstream.transforms.ProcessingClock;
import dev.clickstream.transforms.SelectFeatureEvents;
import dev.clickstream.transforms.TileAggregate;
import dev.clickstream.transforms.WriteToOnlineStore;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.joda.time.Duration;

/**
 * The stored side of the on-demand and tiled patterns: for every definition in {@link FeatureDefinitions} that
 * keeps raw events, its events (for click counts, every click, keyed by {@code event_id}) and its per-minute tiles.
 *
 * <p>Steps, per definition:
 *
 * <ol>
 *   <li>ReadEvents, ParseEvents, AssignEventTime: as in {@link CtrPipeline}.
 *   <li>Select: the definition's events.
 *   <li>WriteRawEvents: one row per event into its raw-events table ({@code click_events}); a replayed event is
 *       written once. After each batch, rows of the batch's users older than the user's latest event by more than
 *       the longest window plus a margin are deleted. A row the store refuses is a dead letter.
 *   <li>Tiles, WriteTiles: per user and minute, a partial aggregate into its tiles table ({@code click_tiles}),
 *       refreshed by late events within the allowed lateness, expired like the raw events.
 * </ol>
 */
public final class RawEventsPipeline {

  private RawEventsPipeline() {}

  public static void main(String[] args) {
    ClickstreamOptions options =
        PipelineOptionsFactory.fromArgs(args).withValidation().as(ClickstreamOptions.class);
    run(options);
  }

  /** Runs the pipeline as {@link PipelineMain} does: to the end, unless Flink's CLI submits it detached. */
  public static PipelineResult run(ClickstreamOptions options) {
    Pipeline pipeline = Pipeline.create(options);
    build(pipeline, options, ProcessingClock.SYSTEM);
    return PipelineMain.run(pipeline);
  }

  /** Adds the whole raw-events pipeline to {@code pipeline}; returns the dead letters. */
  public static PCollection<DeadLetter> build(Pipeline pipeline, ClickstreamOptions options, ProcessingClock clock) {
    PCollectionTuple parsed = EventInput.readAndParse(pipeline, options, "raw-events");
    PCollection<DeadLetter> rejectedRows = buildFrom(EventInput.stamped(parsed, options), options, clock);
    PCollection<DeadLetter> deadLetters =
        PCollectionList.of(parsed.get(ParseEvents.DEAD_LETTERS))
            .and(rejectedRows)
            .apply("AllDeadLetters", Flatten.pCollections());
    EventInput.writeDeadLetters(deadLetters, options, "raw-events");
    return deadLetters;
  }

  /**
   * The raw-event and tile writes of every definition, over parsed events stamped with their event time. Returns the
   * rows the store refused, for the caller to write with its other dead letters.
   */
  public static PCollection<DeadLetter> buildFrom(
      PCollection<ClickEvent> events, ClickstreamOptions options, ProcessingClock clock) {
    Duration allowedLateness = options.getAllowedLateness().toDuration();
    PCollectionList<DeadLetter> rejectedRows = PCollectionList.empty(events.getPipeline());
    for (WindowedAggregation feature : FeatureDefinitions.all()) {
      if (feature.rawEventsTable() != null) {
        rejectedRows = rejectedRows.and(writeFeature(events, feature, options, allowedLateness, clock).getAll());
      }
    }
    return rejectedRows.apply("RejectedRows", Flatten.pCollections());
  }

  private static PCollectionList<DeadLetter> writeFeature(
      PCollection<ClickEvent> events,
      WindowedAggregation feature,
      ClickstreamOptions options,
      Duration allowedLateness,
      ProcessingClock clock) {
    String step = feature.rawEventsTable().name();
    boolean restate = ClickstreamOptions.restates(options);
    PCollection<FeatureEvent> selected = events.apply("Select_" + feature.name(), SelectFeatureEvents.of(feature));
    PCollection<DeadLetter> rejectedEvents =
        selected.apply(
            "WriteRawEvents_" + step,
            WriteToOnlineStore.into(
                    feature.rawEventsTable(),
                    (FeatureEvent event) ->
                        feature.rawEventRow(event.eventId(), event.entity(), event.timestamp(), event.value()))
                .withJdbcUrl(options.getOnlineStore())
                .withRetention(feature.entityField(), WindowedAggregation.EVENT_TIME, feature.retentionMillis())
                .withRestate(restate));
    if (feature.tilesTable() == null) {
      return PCollectionList.of(rejectedEvents);
    }
    String tiles = feature.tilesTable().name();
    PCollection<DeadLetter> rejectedTiles =
        selected
            .apply("Tiles_" + tiles, TileAggregate.of(feature).withAllowedLateness(allowedLateness))
            .apply(
                "WriteTiles_" + tiles,
                WriteToOnlineStore.into(
                        feature.tilesTable(),
                        (EntityPartials tile) ->
                            feature.tileRow(tile.entity(), tile.time(), tile.partials()[0], clock.nowMillis()))
                    .withJdbcUrl(options.getOnlineStore())
                    .withRetention(feature.entityField(), WindowedAggregation.TILE_START, feature.retentionMillis())
                    .withRestate(restate));
    return PCollectionList.of(rejectedEvents).and(rejectedTiles);
  }
}
