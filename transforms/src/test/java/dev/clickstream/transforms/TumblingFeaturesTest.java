package dev.clickstream.transforms;

import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.Aggregation.distinctCount;
import static dev.clickstream.features.Aggregation.movingAverage;
import static dev.clickstream.features.FeatureWindow.minutes;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.Aggregation;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.EnrichedClickEvent;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.transforms.windowing.PaneInfo.Timing;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Any tumbling feature over enriched click events: counts with conditions, distinct counts, percentiles, moving
 * averages and ratios, with exact values per entity, window and pane; lateness; skipped events.
 */
@ExtendWith(TestPipelineExtension.class)
class TumblingFeaturesTest {
  /** 2024-03-01T12:00:00Z: a 5-minute boundary. */
  private static final Instant BASE = new Instant(1_709_294_400_000L);

  private static final Duration FIVE_MINUTES = Duration.standardMinutes(5);
  private static final Duration ALLOWED_LATENESS = Duration.standardMinutes(10);
  private static final Duration EARLY_FIRING_DELAY = Duration.standardMinutes(1);

  private static final TumblingAggregation USER_ACTIVITY = FeatureDefinitions.USER_ACTIVITY_5MIN;

  /** Two moving averages of different lengths: the feature's windows span three tumbling ones. */
  private static final TumblingAggregation CLICK_TREND =
      TumblingAggregation.named("click_trend_5min")
          .groupBy("user_id")
          .window(minutes(5))
          .agg(count().as("events"),
              count().where("event_type", "click").as("clicks"),
              movingAverage("clicks", 3).as("clicks_avg_3"),
              movingAverage("events", 2).as("events_avg_2"))
          .build();

  /** A ratio whose denominator may be 0, next to a distinct count that every event feeds (its item category). */
  private static final TumblingAggregation PURCHASE_RATE =
      TumblingAggregation.named("purchase_rate_5min")
          .groupBy("user_id")
          .window(minutes(5))
          .agg(count().where("event_type", "view").as("views"),
              count().where("event_type", "purchase").as("purchases"),
              distinctCount("item_category").as("categories"))
          .ratio("purchase_rate", "purchases", "views")
          .build();

  @Test
  void countsDistinctItemsAndPricePercentilesPerUserAndWindow(TestPipeline pipeline) {
    PCollection<TumblingFeatures.Row> rows =
        pipeline
            .apply(
                Create.timestamped(
                        event("a1", "alice", "view", "a", 10.0, seconds(10)),
                        event("a2", "alice", "click", "b", 40.0, seconds(60)),
                        event("a3", "alice", "view", "a", 10.0, seconds(120)),
                        event("a4", "alice", "click", "c", 20.0, seconds(180)),
                        // No item, so no price: counted as an event, not as an item or a price.
                        event("a5", "alice", "view", null, null, seconds(210)),
                        event("a6", "alice", "purchase", "d", 30.0, FIVE_MINUTES.minus(Duration.millis(1))),
                        // Ten prices, 1 to 10, out of order.
                        event("c1", "carol", "view", "i7", 7.0, seconds(1)),
                        event("c2", "carol", "view", "i2", 2.0, seconds(2)),
                        event("c3", "carol", "view", "i9", 9.0, seconds(3)),
                        event("c4", "carol", "view", "i1", 1.0, seconds(4)),
                        event("c5", "carol", "view", "i10", 10.0, seconds(5)),
                        event("c6", "carol", "view", "i4", 4.0, seconds(6)),
                        event("c7", "carol", "view", "i3", 3.0, seconds(7)),
                        event("c8", "carol", "view", "i8", 8.0, seconds(8)),
                        event("c9", "carol", "view", "i6", 6.0, seconds(9)),
                        event("c10", "carol", "view", "i5", 5.0, seconds(10)),
                        // An item the items dimension lacks: an item, but no price.
                        event("b1", "bob", "impression", "x", null, FIVE_MINUTES),
                        event("b2", "bob", "click", "x", null, seconds(400)),
                        // Four prices: the median is the lower middle one.
                        event("d1", "dave", "view", "k", 4.0, seconds(301)),
                        event("d2", "dave", "view", "k", 1.0, seconds(302)),
                        event("d3", "dave", "view", "k", 3.0, seconds(303)),
                        event("d4", "dave", "view", "k", 2.0, seconds(304)))
                    .withCoder(AvroCoder.of(EnrichedClickEvent.class)))
            .apply(TumblingFeatures.of(USER_ACTIVITY, EnrichedClickEvent.class));

    // events, clicks, distinct_items, price_p50, price_p90, clicks_avg_15min
    PAssert.that(rows)
        .containsInAnyOrder(
            // Prices 10, 10, 20, 30, 40: p50 is the 3rd, p90 the 5th (nearest rank).
            row("alice", 0, Timing.ON_TIME, 0, 6L, 2L, 4L, 20.0, 40.0, 2.0 / 3),
            row("carol", 0, Timing.ON_TIME, 0, 10L, 0L, 10L, 5.0, 9.0, 0.0),
            row("bob", 1, Timing.ON_TIME, 0, 2L, 1L, 1L, null, null, 1.0 / 3),
            row("dave", 1, Timing.ON_TIME, 0, 4L, 0L, 1L, 2.0, 4.0, 0.0));
    PAssert.that(rows).inOnTimePane(window(1)).containsInAnyOrder(
        row("bob", 1, Timing.ON_TIME, 0, 2L, 1L, 1L, null, null, 1.0 / 3),
        row("dave", 1, Timing.ON_TIME, 0, 4L, 0L, 1L, 2.0, 4.0, 0.0));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void aMovingAverageSpansItsWindowsCountingAWindowWithoutEventsAsZero(TestPipeline pipeline) {
    PCollection<TumblingFeatures.Row> rows =
        pipeline
            .apply(
                Create.timestamped(
                        event("e1", "alice", "click", null, null, minutesAfterBase(0)),
                        event("e2", "alice", "click", null, null, minutesAfterBase(1)),
                        event("e3", "alice", "view", null, null, minutesAfterBase(2)),
                        event("e4", "alice", "click", null, null, minutesAfterBase(4)),
                        // Nothing in the second window, 12:05 to 12:10.
                        event("e5", "alice", "click", null, null, minutesAfterBase(12)),
                        event("e6", "alice", "click", null, null, minutesAfterBase(15)),
                        event("e7", "alice", "view", null, null, minutesAfterBase(16)),
                        event("e8", "alice", "click", null, null, minutesAfterBase(19)))
                    .withCoder(AvroCoder.of(EnrichedClickEvent.class)))
            .apply(TumblingFeatures.of(CLICK_TREND, EnrichedClickEvent.class));

    // events, clicks, clicks_avg_3, events_avg_2. No row for the empty window, nor for the windows after the last
    // event, whose moving averages would still count it.
    PAssert.that(rows)
        .containsInAnyOrder(
            row("alice", 0, Timing.ON_TIME, 0, 4L, 3L, 3.0 / 3, 4.0 / 2),
            row("alice", 2, Timing.ON_TIME, 0, 1L, 1L, (1 + 0 + 3) / 3.0, (1 + 0) / 2.0),
            row("alice", 3, Timing.ON_TIME, 0, 3L, 2L, (2 + 1 + 0) / 3.0, (3 + 1) / 2.0));
    // Each row is in the tumbling window it describes, though computed over sliding ones.
    PAssert.that(rows).inOnTimePane(window(2)).containsInAnyOrder(
        row("alice", 2, Timing.ON_TIME, 0, 1L, 1L, 4.0 / 3, 0.5));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void aRatioIsNullWhenItsDenominatorIsZero(TestPipeline pipeline) {
    PCollection<TumblingFeatures.Row> rows =
        pipeline
            .apply(
                Create.timestamped(
                        event("a1", "alice", "view", "a", 1.0, minutesAfterBase(1)),
                        event("a2", "alice", "view", "b", 1.0, minutesAfterBase(2)),
                        event("a3", "alice", "purchase", "a", 1.0, minutesAfterBase(3)),
                        event("b1", "bob", "purchase", "a", 1.0, minutesAfterBase(1)),
                        // No count matches a click, but every event has an item category to count.
                        event("c1", "carol", "click", null, null, minutesAfterBase(1)))
                    .withCoder(AvroCoder.of(EnrichedClickEvent.class)))
            .apply(TumblingFeatures.of(PURCHASE_RATE, EnrichedClickEvent.class));

    // views, purchases, categories, purchase_rate
    PAssert.that(rows)
        .containsInAnyOrder(
            row("alice", 0, Timing.ON_TIME, 0, 2L, 1L, 1L, 0.5),
            row("bob", 0, Timing.ON_TIME, 0, 0L, 1L, 1L, null),
            row("carol", 0, Timing.ON_TIME, 0, 0L, 0L, 1L, null));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void aLateEventWithinTheAllowedLatenessUpdatesItsWindowInAnAccumulatingPane(TestPipeline pipeline) {
    TestStream<EnrichedClickEvent> events =
        TestStream.create(AvroCoder.of(EnrichedClickEvent.class))
            .advanceWatermarkTo(BASE)
            .addElements(
                event("e1", "alice", "click", "a", 10.0, minutesAfterBase(1)),
                event("e2", "alice", "view", "b", 30.0, minutesAfterBase(2)))
            // The first window closes and fires its on-time pane.
            .advanceWatermarkTo(BASE.plus(Duration.standardMinutes(6)))
            // Late, but within the 10 minutes allowed after the window's end (12:05 to 12:15).
            .addElements(event("e3", "alice", "click", "a", 20.0, minutesAfterBase(3)))
            // Past the first window's end plus its allowed lateness: too late for it.
            .advanceWatermarkTo(BASE.plus(Duration.standardMinutes(16)))
            .addElements(event("e4", "alice", "click", "z", 99.0, minutesAfterBase(4)))
            .advanceWatermarkToInfinity();

    PCollection<TumblingFeatures.Row> rows =
        pipeline
            .apply(events)
            .apply(TumblingFeatures.of(USER_ACTIVITY, EnrichedClickEvent.class).withAllowedLateness(ALLOWED_LATENESS));

    // events, clicks, distinct_items, price_p50, price_p90, clicks_avg_15min. The late pane holds the whole window
    // so far; the too-late event changes nothing, though the later sliding windows it still reaches fire.
    PAssert.that(rows)
        .containsInAnyOrder(
            row("alice", 0, Timing.ON_TIME, 0, 2L, 1L, 2L, 10.0, 30.0, 1.0 / 3),
            row("alice", 0, Timing.LATE, 1, 3L, 2L, 2L, 20.0, 30.0, 2.0 / 3));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void earlyFiringsShowTheRunningValuesBeforeTheWindowCloses(TestPipeline pipeline) {
    TestStream<EnrichedClickEvent> events =
        TestStream.create(AvroCoder.of(EnrichedClickEvent.class))
            .advanceWatermarkTo(BASE)
            .addElements(event("e1", "alice", "click", "a", 10.0, seconds(30)))
            .advanceProcessingTime(EARLY_FIRING_DELAY.multipliedBy(2))
            .addElements(event("e2", "alice", "view", "b", 20.0, seconds(60)))
            .advanceProcessingTime(EARLY_FIRING_DELAY.multipliedBy(2))
            .addElements(event("e3", "alice", "click", "c", 30.0, seconds(120)))
            .advanceWatermarkToInfinity();

    PCollection<TumblingFeatures.Row> rows =
        pipeline
            .apply(events)
            .apply(
                TumblingFeatures.of(USER_ACTIVITY, EnrichedClickEvent.class)
                    .withAllowedLateness(ALLOWED_LATENESS)
                    .withEarlyFiringsEvery(EARLY_FIRING_DELAY));

    PAssert.that(rows)
        .containsInAnyOrder(
            row("alice", 0, Timing.EARLY, 0, 1L, 1L, 1L, 10.0, 10.0, 1.0 / 3),
            row("alice", 0, Timing.EARLY, 1, 2L, 1L, 2L, 10.0, 20.0, 1.0 / 3),
            row("alice", 0, Timing.ON_TIME, 2, 3L, 2L, 3L, 20.0, 30.0, 2.0 / 3));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void skipsAndCountsEventsWithoutAnEntityAndEventsNoAggregationReads(TestPipeline pipeline) {
    PCollection<TumblingFeatures.Row> rows =
        pipeline
            .apply(
                Create.timestamped(
                        event("e1", "alice", "impression", "a", null, minutesAfterBase(1)),
                        event("e2", "alice", "click", "a", null, minutesAfterBase(2)),
                        // CTR reads impressions and clicks only.
                        event("e3", "alice", "view", "a", null, minutesAfterBase(3)),
                        event("e4", "bob", "purchase", "a", null, minutesAfterBase(3)),
                        event("e5", "", "impression", "a", null, minutesAfterBase(4)))
                    .withCoder(AvroCoder.of(EnrichedClickEvent.class)))
            .apply(TumblingFeatures.of(FeatureDefinitions.CTR_5MIN, EnrichedClickEvent.class));

    // impressions, clicks, ctr; bob's window holds nothing CTR reads, so it has no row.
    PAssert.that(rows).containsInAnyOrder(row("alice", 0, Timing.ON_TIME, 0, 1L, 1L, 1.0));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(
        List.of(
            counter(result, "ctr_5min_events_in"),
            counter(result, "ctr_5min_events_without_entity"),
            counter(result, "ctr_5min_events_not_aggregated"),
            counter(result, "ctr_5min_rows_out")),
        contains(5L, 1L, 2L, 1L));
  }

  @Test
  void rejectsAFeatureReadingFieldsTheEventsDoNotHaveListingThem() {
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> TumblingFeatures.of(
            TumblingAggregation.named("f").groupBy("account_id").window(minutes(5))
                .agg(count(), Aggregation.approxPercentile("item_price", 50)).build(),
            ClickEvent.class));
    assertThat(missing.getMessage(),
        equalTo("TumblingFeatures cannot compute feature f over ClickEvent: it reads the fields [account_id,"
            + " item_price], which ClickEvent does not have; its fields: [event_id, user_id, event_type, item_id,"
            + " session_id, timestamp]"));

    IllegalArgumentException notNumeric = assertThrows(IllegalArgumentException.class,
        () -> TumblingFeatures.of(
            TumblingAggregation.named("f").groupBy("user_id").window(minutes(5))
                .agg(count(), Aggregation.approxPercentile("item_id", 50)).build(),
            EnrichedClickEvent.class));
    assertThat(notNumeric.getMessage(),
        equalTo("TumblingFeatures cannot compute feature f over EnrichedClickEvent: approxPercentile(item_id, 50) as"
            + " item_id_p50 needs a numeric field (int, long, float or double, or null), but item_id is string or"
            + " null"));

    IllegalArgumentException noSchema = assertThrows(IllegalArgumentException.class,
        () -> TumblingFeatures.of(FeatureDefinitions.CTR_5MIN, GenericRecord.class));
    assertThat(noSchema.getMessage(),
        equalTo("TumblingFeatures cannot compute feature ctr_5min over org.apache.avro.generic.GenericRecord: it"
            + " reads fields by the schema of the event class, and that class has none; pass a generated Avro class"
            + " such as EnrichedClickEvent"));

    // The user activity feature needs the items dimension's price.
    IllegalArgumentException notEnriched = assertThrows(IllegalArgumentException.class,
        () -> TumblingFeatures.of(USER_ACTIVITY, ClickEvent.class));
    assertThat(notEnriched.getMessage(),
        equalTo("TumblingFeatures cannot compute feature user_activity_5min over ClickEvent: it reads the fields"
            + " [item_price], which ClickEvent does not have; its fields: [event_id, user_id, event_type, item_id,"
            + " session_id, timestamp]"));
  }

  @Test
  void rejectsBadSettingsNamingTheParameterAndTheValue() {
    TumblingFeatures<EnrichedClickEvent> features = TumblingFeatures.of(USER_ACTIVITY, EnrichedClickEvent.class);

    IllegalArgumentException lateness = assertThrows(IllegalArgumentException.class,
        () -> features.withAllowedLateness(Duration.standardMinutes(-1)));
    assertThat(lateness.getMessage(), equalTo("allowedLateness must be zero or positive, got PT-60S"));
    IllegalArgumentException delay = assertThrows(IllegalArgumentException.class,
        () -> features.withEarlyFiringsEvery(Duration.ZERO));
    assertThat(delay.getMessage(), equalTo("earlyFiringDelay must be a positive duration, got PT0S"));
  }

  @Test
  void aRowBecomesATableRowOfItsFeature() {
    TumblingFeatures.Row row = row("alice", 1, Timing.LATE, 2, 6L, 2L, 4L, 20.0, null, 2.0 / 3);

    assertThat(Arrays.asList(row.tableRow(USER_ACTIVITY, 42L)),
        contains("alice", BASE.plus(FIVE_MINUTES).getMillis(), BASE.plus(FIVE_MINUTES.multipliedBy(2)).getMillis(),
            6L, 2L, 4L, 20.0, null, 2.0 / 3, 42L));
    assertThat(row.value(USER_ACTIVITY, "distinct_items"), equalTo(4L));
    IllegalArgumentException unknown =
        assertThrows(IllegalArgumentException.class, () -> row.value(USER_ACTIVITY, "items"));
    assertThat(unknown.getMessage(),
        equalTo("feature user_activity_5min has no column items: it has [events, clicks, distinct_items, price_p50,"
            + " price_p90, clicks_avg_15min]"));
  }

  private static long counter(PipelineResult result, String name) {
    return PipelineCounters.value(result, TumblingFeatures.NAMESPACE, name);
  }

  private static IntervalWindow window(int index) {
    return new IntervalWindow(BASE.plus(FIVE_MINUTES.multipliedBy(index)), FIVE_MINUTES);
  }

  /** The row of {@code user}'s {@code index}-th 5-minute window after {@link #BASE}. */
  private static TumblingFeatures.Row row(String user, int index, Timing timing, long paneIndex, Object... values) {
    IntervalWindow window = window(index);
    return new TumblingFeatures.Row(
        user, window.start().getMillis(), window.end().getMillis(), Arrays.asList(values), timing, paneIndex);
  }

  private static Duration seconds(long seconds) {
    return Duration.standardSeconds(seconds);
  }

  private static Duration minutesAfterBase(long minutes) {
    return Duration.standardMinutes(minutes);
  }

  private static TimestampedValue<EnrichedClickEvent> event(
      String id, String user, String type, String item, Double price, Duration afterBase) {
    Instant time = BASE.plus(afterBase);
    return TimestampedValue.of(
        EnrichedClickEvent.newBuilder()
            .setEventId(id)
            .setUserId(user)
            .setEventType(type)
            .setItemId(item)
            .setTimestamp(time.getMillis())
            .setUserCountry("de")
            .setUserSegment("regular")
            .setUserKnown(true)
            .setItemCategory(item == null ? "unknown" : "shoes")
            .setItemCampaign("none")
            .setItemPrice(price)
            .setItemKnown(price != null)
            .build(),
        time);
  }

  private static TimestampedValue<ClickEvent> clickEvent(String id, String user, String type, Duration afterBase) {
    Instant time = BASE.plus(afterBase);
    return TimestampedValue.of(
        ClickEvent.newBuilder().setEventId(id).setUserId(user).setEventType(type).setTimestamp(time.getMillis())
            .build(),
        time);
  }
}
