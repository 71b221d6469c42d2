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
import org.apache.beam.sdk.values.PCollection;
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
 *       the longest window plus a margin are deleted.
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
    buildFrom(EventInput.stamped(parsed, options), options, clock);
    PCollection<DeadLetter> deadLetters = parsed.get(ParseEvents.DEAD_LETTERS);
    EventInput.writeDeadLetters(deadLetters, options, "raw-events");
    return deadLetters;
  }

  /** The raw-event and tile writes of every definition, over parsed events stamped with their event time. */
  public static void buildFrom(PCollection<ClickEvent> events, ClickstreamOptions options, ProcessingClock clock) {
    Duration allowedLateness = DurationOption.parse("allowedLateness", options.getAllowedLateness());
    for (WindowedAggregation feature : FeatureDefinitions.all()) {
      if (feature.rawEventsTable() != null) {
        writeFeature(events, feature, options.getOnlineStore(), allowedLateness, clock);
      }
    }
  }

  private static void writeFeature(
      PCollection<ClickEvent> events,
      WindowedAggregation feature,
      String onlineStore,
      Duration allowedLateness,
      ProcessingClock clock) {
    String step = feature.rawEventsTable().name();
    PCollection<FeatureEvent> selected = events.apply("Select_" + feature.name(), SelectFeatureEvents.of(feature));
    selected.apply(
        "WriteRawEvents_" + step,
        WriteToOnlineStore.into(
                feature.rawEventsTable(),
                (FeatureEvent event) ->
                    feature.rawEventRow(event.eventId(), event.entity(), event.timestamp(), event.value()))
            .withJdbcUrl(onlineStore)
            .withRetention(feature.entityField(), WindowedAggregation.EVENT_TIME, feature.retentionMillis()));
    if (feature.tilesTable() == null) {
      return;
    }
    String tiles = feature.tilesTable().name();
    selected
        .apply("Tiles_" + tiles, TileAggregate.of(feature).withAllowedLateness(allowedLateness))
        .apply(
            "WriteTiles_" + tiles,
            WriteToOnlineStore.into(
                    feature.tilesTable(),
                    (EntityPartials tile) ->
                        feature.tileRow(tile.entity(), tile.time(), tile.partials()[0], clock.nowMillis()))
                .withJdbcUrl(onlineStore)
                .withRetention(feature.entityField(), WindowedAggregation.TILE_START, feature.retentionMillis()));
  }
}
