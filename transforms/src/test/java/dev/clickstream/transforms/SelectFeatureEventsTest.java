package dev.clickstream.transforms;

import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.Aggregation.max;
import static dev.clickstream.features.Aggregation.sum;
import static dev.clickstream.features.FeatureWindow.minutes;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.schemas.ClickEvent;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Reify;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Which click events a feature definition reads, and the entity, time and value it takes from each. */
@ExtendWith(TestPipelineExtension.class)
class SelectFeatureEventsTest {
  private static final String NAMESPACE = "SelectFeatureEvents";

  /** 2024-03-01T12:00:00Z. */
  private static final long NOON = 1_709_294_400_000L;

  /**
   * How much later than its event time each test event's element timestamp is: not what {@link AssignEventTime}
   * does, but it shows the element timestamp is passed through rather than taken from the event.
   */
  private static final long INGEST_DELAY = 2_000L;

  /** The maximum of a numeric field: ClickEvent's one number is its timestamp. */
  private static final WindowedAggregation LATEST_CLICK_TIME =
      WindowedAggregation.named("latest_click_time")
          .filter("event_type", "click")
          .groupBy("user_id")
          .value("timestamp")
          .window(minutes(10))
          .agg(count().as("click_count"), max().as("latest_click"))
          .build();

  /** Every event, grouped by a field that may be null. */
  private static final WindowedAggregation EVENTS_PER_SESSION =
      WindowedAggregation.named("events_per_session")
          .groupBy("session_id")
          .window(minutes(10))
          .agg(count().as("event_count"))
          .build();

  /** Summing a string field: every click with an item is unreadable. */
  private static final WindowedAggregation ITEM_SUM =
      WindowedAggregation.named("item_sum")
          .filter("event_type", "click")
          .groupBy("user_id")
          .value("item_id")
          .window(minutes(10))
          .agg(count().as("click_count"), sum().as("item_sum"))
          .build();

  @Test
  void selectsTheClicksKeyedByUserKeepingTheirElementTimestamps(TestPipeline pipeline) {
    PCollection<TimestampedValue<FeatureEvent>> selected =
        pipeline
            .apply(
                Create.timestamped(
                        event("e1", "u1", "impression", null, null, NOON),
                        event("e2", "u1", "click", "ad-1", "s-1", NOON + 1_000),
                        event("e3", "u2", "click", null, null, NOON + 2_000),
                        event("e4", "u1", "view", "ad-1", "s-1", NOON + 3_000),
                        event("e5", "u2", "click", "ad-2", null, NOON + 3_000),
                        event("e6", "u1", "CLICK", null, null, NOON + 4_000))
                    .withCoder(AvroCoder.of(ClickEvent.class)))
            .apply(SelectFeatureEvents.of(FeatureDefinitions.CLICK_COUNTS))
            .apply(Reify.timestamps());

    PAssert.that(selected)
        .containsInAnyOrder(
            selected("e2", "u1", NOON + 1_000, null),
            selected("e3", "u2", NOON + 2_000, null),
            selected("e5", "u2", NOON + 3_000, null));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(PipelineCounters.value(result, NAMESPACE, "events_without_entity"), equalTo(0L));
    assertThat(PipelineCounters.value(result, NAMESPACE, "events_with_unreadable_value"), equalTo(0L));
  }

  @Test
  void aValueFeatureReadsTheNumericFieldItNames(TestPipeline pipeline) {
    PCollection<FeatureEvent> selected =
        pipeline
            .apply(
                Create.timestamped(
                        event("e1", "u1", "click", null, null, NOON + 1_000),
                        event("e2", "u1", "impression", null, null, NOON + 2_000),
                        event("e3", "u2", "click", "ad-1", null, NOON + 3_000))
                    .withCoder(AvroCoder.of(ClickEvent.class)))
            .apply(SelectFeatureEvents.of(LATEST_CLICK_TIME));

    PAssert.that(selected)
        .containsInAnyOrder(
            new FeatureEvent("e1", "u1", NOON + 1_000, (double) (NOON + 1_000)),
            new FeatureEvent("e3", "u2", NOON + 3_000, (double) (NOON + 3_000)));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void eventsWithoutAnEntityAreCountedAndLeftOut(TestPipeline pipeline) {
    PCollection<FeatureEvent> selected =
        pipeline
            .apply(
                Create.timestamped(
                        event("e1", "u1", "click", null, "s-1", NOON),
                        event("e2", "u1", "impression", null, null, NOON + 1_000),
                        event("e3", "u2", "view", null, "", NOON + 2_000),
                        event("e4", "u2", "impression", null, "s-2", NOON + 3_000),
                        event("e5", "u1", "purchase", null, "s-1", NOON + 4_000))
                    .withCoder(AvroCoder.of(ClickEvent.class)))
            .apply(SelectFeatureEvents.of(EVENTS_PER_SESSION));

    // No filter: every event type counts.
    PAssert.that(selected)
        .containsInAnyOrder(
            new FeatureEvent("e1", "s-1", NOON, null),
            new FeatureEvent("e4", "s-2", NOON + 3_000, null),
            new FeatureEvent("e5", "s-1", NOON + 4_000, null));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(PipelineCounters.value(result, NAMESPACE, "events_without_entity"), equalTo(2L));
    assertThat(PipelineCounters.value(result, NAMESPACE, "events_with_unreadable_value"), equalTo(0L));
  }

  @Test
  void aValueThatIsNotANumberIsCountedAndLeftOutWhileAMissingValueIsKept(TestPipeline pipeline) {
    PCollection<FeatureEvent> selected =
        pipeline
            .apply(
                Create.timestamped(
                        event("e1", "u1", "click", "ad-1", null, NOON),
                        event("e2", "u1", "click", null, null, NOON + 1_000),
                        // Filtered out before its value is read: not counted as unreadable.
                        event("e3", "u1", "impression", "ad-2", null, NOON + 2_000))
                    .withCoder(AvroCoder.of(ClickEvent.class)))
            .apply(SelectFeatureEvents.of(ITEM_SUM));

    PAssert.that(selected).containsInAnyOrder(new FeatureEvent("e2", "u1", NOON + 1_000, null));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(PipelineCounters.value(result, NAMESPACE, "events_with_unreadable_value"), equalTo(1L));
    assertThat(PipelineCounters.value(result, NAMESPACE, "events_without_entity"), equalTo(0L));
  }

  @Test
  void aDefinitionNamingAFieldClickEventsLackFailsAtConstruction() {
    WindowedAggregation price =
        WindowedAggregation.named("click_prices")
            .filter("event_type", "click")
            .groupBy("user_id")
            .value("price")
            .window(minutes(10))
            .agg(count().as("click_count"), sum().as("price_sum"))
            .build();
    WindowedAggregation perAccount =
        WindowedAggregation.named("clicks_per_account")
            .groupBy("account_id")
            .window(minutes(10))
            .agg(count().as("click_count"))
            .build();
    WindowedAggregation byCountry =
        WindowedAggregation.named("german_clicks")
            .filter("country", "de")
            .groupBy("user_id")
            .window(minutes(10))
            .agg(count().as("click_count"))
            .build();
    String fields = "; fields: [event_id, user_id, event_type, item_id, session_id, timestamp]";

    assertRejected(price, "feature click_prices reads the field 'price', which click events do not have" + fields);
    assertRejected(
        perAccount, "feature clicks_per_account reads the field 'account_id', which click events do not have" + fields);
    assertRejected(
        byCountry, "feature german_clicks reads the field 'country', which click events do not have" + fields);
  }

  private static void assertRejected(WindowedAggregation feature, String message) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> SelectFeatureEvents.of(feature));
    assertThat(e.getMessage(), equalTo(message));
  }

  /** A click event at {@code time}, as an element timestamped {@link #INGEST_DELAY} later. */
  private static TimestampedValue<ClickEvent> event(
      String id, String user, String type, String item, String session, long time) {
    return TimestampedValue.of(
        ClickEvent.newBuilder()
            .setEventId(id)
            .setUserId(user)
            .setEventType(type)
            .setItemId(item)
            .setSessionId(session)
            .setTimestamp(time)
            .build(),
        new Instant(time + INGEST_DELAY));
  }

  /** What {@link #event} becomes, with the element timestamp it had. */
  private static TimestampedValue<FeatureEvent> selected(String id, String entity, long time, Double value) {
    return TimestampedValue.of(new FeatureEvent(id, entity, time, value), new Instant(time + INGEST_DELAY));
  }
}
