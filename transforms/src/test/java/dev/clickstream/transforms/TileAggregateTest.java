package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.Partial;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreFixtures;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.WindowingStrategy;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One-minute tiles of {@code click_counts}, one test per lateness case (as in Beam's {@code LeaderBoardTest}): on
 * time, late but allowed, too late; then tile boundaries, values, the settings, and the tiles written to a store.
 */
@ExtendWith(TestPipelineExtension.class)
class TileAggregateTest {
  private static final WindowedAggregation FEATURE = FeatureDefinitions.CLICK_COUNTS;

  /** 2024-03-01T12:00:00Z: a tile boundary. */
  private static final long NOON = 1_709_294_400_000L;

  private static final long TILE = 60_000L;
  private static final Duration TILE_LENGTH = Duration.millis(TILE);
  private static final Duration ALLOWED_LATENESS = Duration.standardMinutes(2);

  private static final IntervalWindow FIRST_TILE = tile(NOON);
  private static final IntervalWindow SECOND_TILE = tile(NOON + TILE);
  private static final IntervalWindow THIRD_TILE = tile(NOON + 2 * TILE);

  @AfterAll
  static void closePools() {
    ConnectionPools.closeAll();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Lateness

  @Test
  void onTimeEventsFireOneOnTimePanePerEntityAndTile(TestPipeline pipeline) {
    TestStream<FeatureEvent> events =
        TestStream.create(FeatureEvent.Coder.of())
            .advanceWatermarkTo(new Instant(NOON))
            .addElements(event("e1", "u1", NOON + 10_000), event("e2", "u2", NOON + 20_000))
            .advanceWatermarkTo(new Instant(NOON + 30_000))
            .addElements(event("e3", "u1", NOON + 40_000))
            .advanceWatermarkToInfinity();

    PCollection<EntityPartials> tiles =
        pipeline.apply(events).apply(TileAggregate.of(FEATURE).withAllowedLateness(ALLOWED_LATENESS));

    PAssert.that(tiles)
        .inOnTimePane(FIRST_TILE)
        .containsInAnyOrder(
            tile("u1", NOON, Partial.of(NOON + 10_000, null).add(NOON + 40_000, null)),
            tile("u2", NOON, Partial.of(NOON + 20_000, null)));
    PAssert.that(tiles.apply("DescribePanes", ParDo.of(new DescribePane())))
        .inWindow(FIRST_TILE)
        .containsInAnyOrder("u1 ON_TIME#0 2@" + (NOON + 40_000), "u2 ON_TIME#0 1@" + (NOON + 20_000));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void aLateEventWithinTheAllowedLatenessFiresASecondLargerPane(TestPipeline pipeline) {
    TestStream<FeatureEvent> events =
        TestStream.create(FeatureEvent.Coder.of())
            .advanceWatermarkTo(new Instant(NOON))
            .addElements(event("e1", "u1", NOON + 10_000), event("e2", "u2", NOON + 15_000))
            // The first tile closes and fires its on-time pane.
            .advanceWatermarkTo(new Instant(NOON + TILE + 30_000))
            // Late for the first tile, but within the 2 minutes allowed after its end.
            .addElements(event("e3", "u1", NOON + 5_000))
            .advanceWatermarkTo(new Instant(NOON + TILE + 90_000))
            .addElements(event("e4", "u1", NOON + 50_000, 2.5))
            .advanceWatermarkToInfinity();

    PCollection<EntityPartials> tiles =
        pipeline.apply(events).apply(TileAggregate.of(FEATURE).withAllowedLateness(ALLOWED_LATENESS));

    PAssert.that(tiles)
        .inOnTimePane(FIRST_TILE)
        .containsInAnyOrder(
            tile("u1", NOON, Partial.of(NOON + 10_000, null)), tile("u2", NOON, Partial.of(NOON + 15_000, null)));
    // Panes accumulate: each late pane holds every event of the tile so far, not just the late one.
    PAssert.that(tiles)
        .inLatePane(FIRST_TILE)
        .containsInAnyOrder(
            tile("u1", NOON, Partial.of(NOON + 10_000, null).add(NOON + 5_000, null)),
            tile("u1", NOON, Partial.of(NOON + 10_000, null).add(NOON + 5_000, null).add(NOON + 50_000, 2.5)));
    PAssert.that(tiles.apply("DescribePanes", ParDo.of(new DescribePane())))
        .inWindow(FIRST_TILE)
        .containsInAnyOrder(
            "u1 ON_TIME#0 1@" + (NOON + 10_000),
            "u2 ON_TIME#0 1@" + (NOON + 15_000),
            "u1 LATE#1 2@" + (NOON + 10_000),
            "u1 LATE#2 3@" + (NOON + 50_000));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void eventsLaterThanTheAllowedLatenessAreDroppedAndCountedByBeam(TestPipeline pipeline) {
    TestStream<FeatureEvent> events =
        TestStream.create(FeatureEvent.Coder.of())
            .advanceWatermarkTo(new Instant(NOON))
            // Both users seen before their late events: a stream's keyed state judges lateness per key, and takes
            // a key never seen as on time (CombinePerKeyInKeyedState).
            .addElements(event("e1", "u1", NOON + 10_000), event("e0", "u2", NOON + 5_000))
            // Past the end of the first tile plus its allowed lateness: the tile is gone.
            .advanceWatermarkTo(new Instant(NOON + TILE + ALLOWED_LATENESS.getMillis() + 1))
            .addElements(
                event("e2", "u1", NOON + 20_000),
                event("e3", "u2", NOON + 30_000),
                // Late for the second tile, but within its allowed lateness: still counted.
                event("e4", "u1", NOON + TILE + 1))
            .advanceWatermarkToInfinity();

    PCollection<EntityPartials> tiles =
        pipeline.apply(events).apply(TileAggregate.of(FEATURE).withAllowedLateness(ALLOWED_LATENESS));

    PAssert.that(tiles).inWindow(FIRST_TILE).containsInAnyOrder(
        tile("u1", NOON, Partial.of(NOON + 10_000, null)), tile("u2", NOON, Partial.of(NOON + 5_000, null)));
    PAssert.that(tiles).inOnTimePane(FIRST_TILE).containsInAnyOrder(
        tile("u1", NOON, Partial.of(NOON + 10_000, null)), tile("u2", NOON, Partial.of(NOON + 5_000, null)));
    PAssert.that(tiles).inLatePane(FIRST_TILE).empty();
    PAssert.that(tiles)
        .inLatePane(SECOND_TILE)
        .containsInAnyOrder(tile("u1", NOON + TILE, Partial.of(NOON + TILE + 1, null)));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(droppedDueToLateness(result), equalTo(2L));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Tiles

  @Test
  void tilesAreAlignedToTheEpochAndAnEventOnABoundaryStartsTheNextTile(TestPipeline pipeline) {
    PCollection<EntityPartials> tiles =
        pipeline
            .apply(
                Create.timestamped(
                        event("e1", "u1", NOON),
                        event("e2", "u1", NOON + 59_999),
                        event("e3", "u1", NOON + 60_000),
                        // Two events in the same millisecond are two events.
                        event("e4", "u1", NOON + 120_000),
                        event("e5", "u1", NOON + 120_000),
                        event("e6", "u2", NOON + 59_999))
                    .withCoder(FeatureEvent.Coder.of()))
            .apply(TileAggregate.of(FEATURE));

    EntityPartials u1First = tile("u1", NOON, Partial.ofCount(2, NOON + 59_999));
    EntityPartials u2First = tile("u2", NOON, Partial.ofCount(1, NOON + 59_999));
    EntityPartials u1Second = tile("u1", NOON + TILE, Partial.ofCount(1, NOON + 60_000));
    EntityPartials u1Third = tile("u1", NOON + 2 * TILE, Partial.ofCount(2, NOON + 120_000));
    PAssert.that(tiles).inOnTimePane(FIRST_TILE).containsInAnyOrder(u1First, u2First);
    PAssert.that(tiles).inOnTimePane(SECOND_TILE).containsInAnyOrder(u1Second);
    PAssert.that(tiles).inOnTimePane(THIRD_TILE).containsInAnyOrder(u1Third);
    PAssert.that(tiles).containsInAnyOrder(u1First, u2First, u1Second, u1Third);
    pipeline.run().waitUntilFinish();
  }

  @Test
  void valuesAreMergedIntoTheTilesPartial(TestPipeline pipeline) {
    PCollection<EntityPartials> tiles =
        pipeline
            .apply(
                Create.timestamped(
                        event("e1", "u1", NOON + 1_000, 4.0),
                        event("e2", "u1", NOON + 3_000, -1.5),
                        event("e3", "u1", NOON + 5_000),
                        event("e4", "u1", NOON + 2_000, 10.0))
                    .withCoder(FeatureEvent.Coder.of()))
            .apply(TileAggregate.of(FEATURE));

    // 4 events, 3 values: sum 12.5, min -1.5, max 10, last -1.5 (at 3 s; the event at 5 s has no value).
    PAssert.that(tiles)
        .containsInAnyOrder(
            tile("u1", NOON, Partial.fromComponents(4, NOON + 5_000, 3, 12.5, -1.5, 10.0, NOON + 3_000, -1.5)));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void tilesWrittenToTheStoreKeepTheFullestPaneOfEachTile(TestPipeline pipeline) {
    String url = StoreFixtures.freshStoreUrl("h2");
    TestStream<FeatureEvent> events =
        TestStream.create(FeatureEvent.Coder.of())
            .advanceWatermarkTo(new Instant(NOON))
            .addElements(
                event("e1", "u1", NOON + 10_000),
                event("e2", "u1", NOON + 59_999),
                event("e3", "u1", NOON + 60_000),
                event("e4", "u2", NOON + 30_000))
            .advanceWatermarkTo(new Instant(NOON + 2 * TILE + 1))
            // Late for the first tile: its late pane (3 events) replaces the on-time one (2 events).
            .addElements(event("e5", "u1", NOON + 20_000))
            .advanceWatermarkToInfinity();

    pipeline
        .apply(events)
        .apply(TileAggregate.of(FEATURE).withAllowedLateness(ALLOWED_LATENESS))
        .apply("ToTileRows", FeatureRows.of(FEATURE.tilesTable(),
            (EntityPartials p) -> FEATURE.tileRow(p.entity(), p.time(), p.partials()[0], 0L)))
        .get(FeatureRows.ROWS)
        .apply("WriteTiles", WriteToOnlineStore.into(FEATURE.tilesTable()).withJdbcUrl(url));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(
        OnlineStore.forUrl(url).readTable(FEATURE.tilesTable()),
        equalTo(
            List.of(
                tileRow("u1", NOON, 3, NOON + 59_999),
                tileRow("u1", NOON + TILE, 1, NOON + 60_000),
                tileRow("u2", NOON, 1, NOON + 30_000))));
    // Four panes: three on time, one late; the late one replaces the smaller on-time pane of its tile.
    assertThat(PipelineCounters.value(result, "WriteToOnlineStore", "rows_applied"), equalTo(4L));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Settings

  @Test
  void rejectsBadSettingsNamingTheParameterAndTheValue() {
    NullPointerException feature = assertThrows(NullPointerException.class, () -> TileAggregate.of(null));
    assertThat(feature.getMessage(), equalTo("feature"));

    IllegalArgumentException negative =
        assertThrows(
            IllegalArgumentException.class,
            () -> TileAggregate.of(FEATURE).withAllowedLateness(Duration.standardMinutes(-1)));
    assertThat(negative.getMessage(), equalTo("allowedLateness must be zero or positive, got PT-60S"));

    IllegalArgumentException missing =
        assertThrows(IllegalArgumentException.class, () -> TileAggregate.of(FEATURE).withAllowedLateness(null));
    assertThat(missing.getMessage(), equalTo("allowedLateness must be zero or positive, got null"));
  }

  @Test
  void tilesAccumulateWithTheFeaturesTileLengthAndTheGivenLateness() {
    TileAggregate original = TileAggregate.of(FEATURE);
    TileAggregate late = original.withAllowedLateness(ALLOWED_LATENESS);

    WindowingStrategy<?, ?> strategy = windowingOf(late);

    assertThat(strategy.getWindowFn(), equalTo(FixedWindows.of(TILE_LENGTH)));
    assertThat(strategy.getAllowedLateness(), equalTo(ALLOWED_LATENESS));
    assertThat(strategy.getMode(), equalTo(WindowingStrategy.AccumulationMode.ACCUMULATING_FIRED_PANES));
    assertThat(windowingOf(original).getAllowedLateness(), equalTo(Duration.ZERO));
  }

  /** The windowing of the tiles, from a pipeline that is built but not run. */
  private static WindowingStrategy<?, ?> windowingOf(TileAggregate aggregate) {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    return pipeline
        .apply(Create.timestamped(event("e1", "u1", NOON)).withCoder(FeatureEvent.Coder.of()))
        .apply(aggregate)
        .getWindowingStrategy();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Fixtures

  private static IntervalWindow tile(long start) {
    return new IntervalWindow(new Instant(start), TILE_LENGTH);
  }

  private static EntityPartials tile(String entity, long start, Partial partial) {
    return new EntityPartials(entity, start, partial);
  }

  /** An event without a value, its element timestamp its event time. */
  private static TimestampedValue<FeatureEvent> event(String id, String entity, long timestamp) {
    return TimestampedValue.of(new FeatureEvent(id, entity, timestamp, null), new Instant(timestamp));
  }

  private static TimestampedValue<FeatureEvent> event(String id, String entity, long timestamp, double value) {
    return TimestampedValue.of(new FeatureEvent(id, entity, timestamp, value), new Instant(timestamp));
  }

  /** A row of {@code click_tiles} as {@link OnlineStore#readTable} returns it. */
  private static Map<String, Object> tileRow(String user, long tileStart, long count, long latest) {
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("user_id", user);
    row.put("tile_start", tileStart);
    row.put("event_count", count);
    row.put("latest_time", latest);
    row.put("updated_at", 0L);
    return row;
  }

  /**
   * Elements the runner dropped as too late, whichever step reports them. The Direct runner names the counter
   * {@code DroppedDueToLateness}; runners built on {@code LateDataDroppingDoFnRunner} name it
   * {@code droppedDueToLateness}.
   */
  static long droppedDueToLateness(PipelineResult result) {
    MetricQueryResults metrics = result.metrics().queryMetrics(MetricsFilter.builder().build());
    long dropped = 0;
    for (MetricResult<Long> counter : metrics.getCounters()) {
      if (counter.getName().getName().equalsIgnoreCase("droppedDueToLateness")) {
        dropped += counter.hasCommitted() ? counter.getCommitted() : counter.getAttempted();
      }
    }
    return dropped;
  }

  /** "entity TIMING#index count@latest": pins every pane of a tile, with its timing and order. */
  static final class DescribePane extends DoFn<EntityPartials, String> {
    @ProcessElement
    public void processElement(@Element EntityPartials tile, PaneInfo pane, OutputReceiver<String> out) {
      Partial partial = tile.partials()[0];
      out.output(
          tile.entity() + " " + pane.getTiming() + "#" + pane.getIndex() + " " + partial.count() + "@"
              + partial.latestTimestamp());
    }
  }
}
