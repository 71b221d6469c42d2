package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.ClickAttribution;
import dev.clickstream.features.EventFilter;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureWindow;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.EnrichedClickEvent;
import dev.clickstream.transforms.AttributeClicks.Counts;
import dev.clickstream.transforms.AttributeClicks.ItemWindow;
import java.time.Duration;
import java.util.List;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Click attribution per item: out-of-order clicks, clicks without an impression, the 30-minute bound on both sides
 * of its edge, the latest impression winning, time to click, late clicks, and the join's state cleared after the
 * bound; and a declaration with its own event types, join keys and entity.
 */
@ExtendWith(TestPipelineExtension.class)
class AttributeClicksTest {
  /** 2024-03-01T12:00:00Z, the start of a 5-minute window. */
  private static final long BASE = 1_709_294_400_000L;
  private static final long MINUTE = 60_000L;
  private static final long WINDOW = 5 * MINUTE;
  private static final AttributeClicks<ClickEvent> ATTRIBUTION =
      AttributeClicks.of(FeatureDefinitions.ITEM_ATTRIBUTION_5MIN);

  /**
   * Not in the registry: per user, a tap attributed to the latest view of the same user and client session at most
   * 10 minutes before, whatever the item.
   */
  private static final ClickAttribution USER_SESSION_TAPS =
      ClickAttribution.named("user_session_taps")
          .impressions(EventFilter.fieldEquals("event_type", "view"))
          .clicks(EventFilter.fieldEquals("event_type", "tap"))
          .joinOn("user_id", "session_id")
          .withinGap(Duration.ofMinutes(10))
          .perEntity("user_id")
          .window(FeatureWindow.minutes(5))
          .build();

  @Test
  void aClickBeforeItsImpressionArrivesIsStillAttributed(TestPipeline pipeline) {
    // The click arrives first; the impression 2 minutes before it arrives afterwards, both before the watermark.
    TestStream<ClickEvent> events =
        TestStream.create(AvroCoder.of(ClickEvent.class))
            .addElements(stamped(event("c1", "u1", "click", "i1", BASE + 3 * MINUTE)))
            .addElements(stamped(event("m1", "u1", "impression", "i1", BASE + MINUTE)))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = pipeline.apply(events).apply(ATTRIBUTION);

    PAssert.that(output.get(AttributeClicks.COUNTS))
        .containsInAnyOrder(new ItemWindow("i1", BASE, BASE + WINDOW, new Counts(1, 1, 1, 2 * MINUTE)));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    assertThat(PipelineCounters.value(result, "AttributeClicks", "clicks_attributed"), equalTo(1L));
  }

  @Test
  void aClickWithNoImpressionIsCountedAndKeptAsUnattributed(TestPipeline pipeline) {
    TestStream<ClickEvent> events =
        TestStream.create(AvroCoder.of(ClickEvent.class))
            // Another user's impression of the item, and this user's impression of another item: neither matches.
            .addElements(
                stamped(event("m1", "u2", "impression", "i1", BASE)),
                stamped(event("m2", "u1", "impression", "i2", BASE)),
                stamped(event("c1", "u1", "click", "i1", BASE + MINUTE)))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = pipeline.apply(events).apply(ATTRIBUTION);

    PAssert.that(output.get(AttributeClicks.COUNTS))
        .containsInAnyOrder(
            new ItemWindow("i1", BASE, BASE + WINDOW, new Counts(1, 1, 0, 0)),
            new ItemWindow("i2", BASE, BASE + WINDOW, new Counts(1, 0, 0, 0)));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    assertThat(PipelineCounters.value(result, "AttributeClicks", "clicks_unattributed"), equalTo(1L));
    assertThat(PipelineCounters.value(result, "AttributeClicks", "clicks_attributed"), equalTo(0L));
  }

  @Test
  void anImpressionExactlyThirtyMinutesBeforeCountsAndOneMillisecondMoreDoesNot(TestPipeline pipeline) {
    long click1 = BASE + 40 * MINUTE;
    long click2 = BASE + 50 * MINUTE;
    TestStream<ClickEvent> events =
        TestStream.create(AvroCoder.of(ClickEvent.class))
            .addElements(
                stamped(event("m1", "u1", "impression", "i1", click1 - 30 * MINUTE)),
                stamped(event("m2", "u1", "impression", "i2", click2 - 30 * MINUTE - 1)),
                stamped(event("c1", "u1", "click", "i1", click1)),
                stamped(event("c2", "u1", "click", "i2", click2)))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = pipeline.apply(events).apply(ATTRIBUTION);

    PAssert.that(output.get(AttributeClicks.COUNTS))
        .containsInAnyOrder(
            // Impressions count in their own windows, clicks in theirs.
            new ItemWindow("i1", BASE + 10 * MINUTE, BASE + 15 * MINUTE, new Counts(1, 0, 0, 0)),
            new ItemWindow("i1", BASE + 40 * MINUTE, BASE + 45 * MINUTE, new Counts(0, 1, 1, 30 * MINUTE)),
            new ItemWindow("i2", BASE + 15 * MINUTE, BASE + 20 * MINUTE, new Counts(1, 0, 0, 0)),
            new ItemWindow("i2", BASE + 50 * MINUTE, BASE + 55 * MINUTE, new Counts(0, 1, 0, 0)));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void eachClickTakesTheLatestImpressionAndTimesToClickAreSummed(TestPipeline pipeline) {
    TestStream<ClickEvent> events =
        TestStream.create(AvroCoder.of(ClickEvent.class))
            .addElements(
                stamped(event("m1", "u1", "impression", "i1", BASE)),
                stamped(event("m2", "u1", "impression", "i1", BASE + MINUTE)),
                stamped(event("c1", "u1", "click", "i1", BASE + 2 * MINUTE)),
                stamped(event("c2", "u1", "click", "i1", BASE + 4 * MINUTE)),
                // A click without an item is counted, and not attributed.
                stamped(event("c3", "u1", "click", null, BASE + 4 * MINUTE)))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = pipeline.apply(events).apply(ATTRIBUTION);

    // Both clicks go to m2 (1 and 3 minutes): 2 impressions, 2 clicks, both attributed, 4 minutes in all.
    PAssert.that(output.get(AttributeClicks.COUNTS))
        .containsInAnyOrder(new ItemWindow("i1", BASE, BASE + WINDOW, new Counts(2, 2, 2, 4 * MINUTE)));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    assertThat(PipelineCounters.value(result, "AttributeClicks", "clicks_in"), equalTo(3L));
    assertThat(PipelineCounters.value(result, "AttributeClicks", "clicks_without_item"), equalTo(1L));
    assertThat(PipelineCounters.value(result, "AttributeClicks", "impressions_in"), equalTo(2L));
    // The join timed each of the four arrivals with an item.
    assertThat(PipelineMetrics.distribution(result, "IntervalJoin", "process_micros").get(0), equalTo(4L));
  }

  @Test
  void aClickAfterTheJoinReleasedItsKeyIsTooLateAndTheImpressionsStateIsClearedAfterTheBound(
      TestPipeline pipeline) {
    TestStream<ClickEvent> events =
        TestStream.create(AvroCoder.of(ClickEvent.class))
            .addElements(
                stamped(event("m1", "u1", "impression", "i1", BASE)),
                stamped(event("c1", "u1", "click", "i1", BASE + MINUTE)))
            // Past the bound of m1 (30 minutes) and of c1's release: the join clears m1 and releases c1.
            .advanceWatermarkTo(new Instant(BASE + 40 * MINUTE))
            .addElements(stamped(event("c2", "u1", "click", "i1", BASE + 2 * MINUTE)))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = pipeline.apply(events).apply(ATTRIBUTION);

    PAssert.that(output.get(AttributeClicks.COUNTS))
        .containsInAnyOrder(new ItemWindow("i1", BASE, BASE + WINDOW, new Counts(1, 1, 1, MINUTE)));
    PAssert.that(output.get(AttributeClicks.TOO_LATE_CLICKS))
        .containsInAnyOrder(
            Row.withSchema(AttributeClicks.eventSchema(FeatureDefinitions.ITEM_ATTRIBUTION_5MIN))
                .addValues("c2", "u1", "i1", BASE + 2 * MINUTE)
                .build());
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    assertThat(PipelineCounters.value(result, "IntervalJoin", "lefts_expired"), equalTo(1L));
    assertThat(PipelineCounters.value(result, "IntervalJoin", "late_right"), equalTo(1L));
  }

  @Test
  void anotherDeclarationJoinsOnItsOwnKeysAndCountsPerItsOwnEntity(TestPipeline pipeline) {
    TestStream<ClickEvent> events =
        TestStream.create(AvroCoder.of(ClickEvent.class))
            .addElements(
                stamped(sessionEvent("v1", "u1", "s1", "view", "i1", BASE)),
                // Same user and session, another item: attributed to v1, 3 minutes.
                stamped(sessionEvent("t1", "u1", "s1", "tap", "i2", BASE + 3 * MINUTE)),
                // Another session of u1: no view in it, unattributed.
                stamped(sessionEvent("t2", "u1", "s2", "tap", "i1", BASE + 4 * MINUTE)),
                stamped(sessionEvent("v2", "u2", "s1", "view", "i1", BASE + MINUTE)),
                // 11 minutes after v2, beyond the 10-minute gap: unattributed, in the window at 10 minutes.
                stamped(sessionEvent("t3", "u2", "s1", "tap", "i1", BASE + 12 * MINUTE)),
                // Not this feature's event types: ignored.
                stamped(sessionEvent("x1", "u1", "s1", "click", "i1", BASE + 2 * MINUTE)),
                stamped(sessionEvent("x2", "u1", "s1", "impression", "i1", BASE + 2 * MINUTE)),
                // Without a session, a join key: counted and dropped.
                stamped(sessionEvent("t4", "u2", null, "tap", "i1", BASE + 2 * MINUTE)))
            .advanceWatermarkToInfinity();

    PCollectionTuple output = pipeline.apply(events).apply(AttributeClicks.of(USER_SESSION_TAPS));

    // u1: 1 view, 2 taps (t1, t2), t1 attributed after 3 minutes. u2: v2 in the first window, t3 in the third.
    PAssert.that(output.get(AttributeClicks.COUNTS))
        .containsInAnyOrder(
            new ItemWindow("u1", BASE, BASE + WINDOW, new Counts(1, 2, 1, 3 * MINUTE)),
            new ItemWindow("u2", BASE, BASE + WINDOW, new Counts(1, 0, 0, 0)),
            new ItemWindow("u2", BASE + 2 * WINDOW, BASE + 3 * WINDOW, new Counts(0, 1, 0, 0)));
    PAssert.that(output.get(AttributeClicks.TOO_LATE_CLICKS)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    assertThat(PipelineCounters.value(result, "AttributeClicks", "impressions_in"), equalTo(2L));
    assertThat(PipelineCounters.value(result, "AttributeClicks", "clicks_in"), equalTo(4L));
    assertThat(PipelineCounters.value(result, "AttributeClicks", "clicks_without_session"), equalTo(1L));
    assertThat(PipelineCounters.value(result, "AttributeClicks", "clicks_attributed"), equalTo(1L));
    assertThat(PipelineCounters.value(result, "AttributeClicks", "clicks_unattributed"), equalTo(2L));
  }

  @Test
  void theJoinRowsHoldTheIdTheDeclaredKeysAndTheTime() {
    assertThat(
        AttributeClicks.eventSchema(FeatureDefinitions.ITEM_ATTRIBUTION_5MIN).getFieldNames(),
        equalTo(List.of("event_id", "user_id", "item_id", "timestamp")));
    assertThat(
        AttributeClicks.eventSchema(USER_SESSION_TAPS).getFieldNames(),
        equalTo(List.of("event_id", "user_id", "session_id", "timestamp")));
  }

  @Test
  void aFeatureReadingAFieldTheEventsLackIsRefusedWhenTheGraphIsBuilt() {
    ClickAttribution perCampaign =
        ClickAttribution.named("campaign_attribution")
            .joinOn("user_id", "item_campaign")
            .withinGap(Duration.ofMinutes(30))
            .perEntity("item_campaign")
            .window(FeatureWindow.minutes(5))
            .build();

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AttributeClicks.of(perCampaign));
    assertThat(
        e.getMessage(),
        equalTo("AttributeClicks cannot compute feature campaign_attribution over ClickEvent: it reads the fields"
            + " [item_campaign], which ClickEvent does not have; its fields: [event_id, user_id, event_type, item_id,"
            + " session_id, timestamp]"));
    // EnrichedClickEvent has it.
    assertDoesNotThrow(() -> AttributeClicks.of(perCampaign, EnrichedClickEvent.class));
  }

  @Test
  void countsHaveADeterministicCoder() throws Exception {
    ItemWindow window = new ItemWindow("i1", BASE, BASE + WINDOW, new Counts(3, 2, 1, 90_000));
    CoderProperties.coderDecodeEncodeEqual(ItemWindow.Coder.of(), window);
    CoderProperties.coderDeterministic(
        ItemWindow.Coder.of(), window, new ItemWindow("i1", BASE, BASE + WINDOW, new Counts(3, 2, 1, 90_000)));
    CoderProperties.coderDecodeEncodeEqual(Counts.Coder.of(), new Counts(0, 0, 0, 0));
  }

  private static ClickEvent event(String id, String user, String type, String item, long timestamp) {
    return ClickEvent.newBuilder()
        .setEventId(id)
        .setUserId(user)
        .setEventType(type)
        .setItemId(item)
        .setTimestamp(timestamp)
        .build();
  }

  private static ClickEvent sessionEvent(
      String id, String user, String session, String type, String item, long timestamp) {
    return ClickEvent.newBuilder(event(id, user, type, item, timestamp)).setSessionId(session).build();
  }

  private static TimestampedValue<ClickEvent> stamped(ClickEvent event) {
    return TimestampedValue.of(event, new Instant(event.getTimestamp()));
  }
}
