package dev.clickstream.transforms;

import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.FeatureWindow.minutes;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.Aggregation;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.schemas.ClickEvent;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * CTR per user over 5-minute event-time windows, one test per lateness case (as in Beam's {@code LeaderBoardTest}):
 * on time, early, late but allowed, too late; then window alignment, several users, and a declaration other than CTR's.
 */
@ExtendWith(TestPipelineExtension.class)
class CtrPerUserTest {
  /** 2024-03-01T12:00:00Z: a 5-minute boundary. */
  private static final Instant BASE = new Instant(1_709_294_400_000L);

  private static final Duration FIVE_MINUTES = Duration.standardMinutes(5);
  private static final Duration ALLOWED_LATENESS = Duration.standardMinutes(10);
  private static final Duration EARLY_FIRING_DELAY = Duration.standardMinutes(1);

  private static final Duration TEN_MINUTES = Duration.standardMinutes(10);

  private static final Aggregation VIEWS = count().where("event_type", "view").as("views");
  private static final Aggregation PURCHASES = count().where("event_type", "purchase").as("purchases");

  /** A declaration other than CTR's: views and purchases per user over 10-minute windows. */
  private static final TumblingAggregation VIEWS_AND_PURCHASES =
      TumblingAggregation.named("purchase_rate_10min")
          .groupBy("user_id")
          .window(minutes(10))
          .agg(VIEWS, PURCHASES)
          .ratio("purchase_rate", "purchases", "views")
          .build();

  private static final IntervalWindow FIRST_WINDOW = new IntervalWindow(BASE, FIVE_MINUTES);
  private static final IntervalWindow SECOND_WINDOW = new IntervalWindow(BASE.plus(FIVE_MINUTES), FIVE_MINUTES);

  @Test
  void onTimeEventsFireOneOnTimePane(TestPipeline pipeline) {
    TestStream<ClickEvent> events =
        TestStream.create(AvroCoder.of(ClickEvent.class))
            .advanceWatermarkTo(BASE)
            .addElements(
                event("e1", "u1", "impression", Duration.standardSeconds(10)),
                event("e2", "u1", "impression", Duration.standardMinutes(1)),
                event("e3", "u1", "click", Duration.standardMinutes(2)),
                event("e4", "u2", "impression", Duration.standardMinutes(3)))
            .advanceWatermarkTo(BASE.plus(Duration.standardMinutes(3)))
            .addElements(
                event("e5", "u1", "impression", FIVE_MINUTES.minus(Duration.millis(1))),
                event("e6", "u1", "view", Duration.standardMinutes(4)))
            .advanceWatermarkToInfinity();

    PCollection<KV<String, CtrCounts>> ctr =
        pipeline.apply(events).apply(CtrPerUser.overFiveMinuteWindows().withAllowedLateness(ALLOWED_LATENESS));

    PAssert.that(ctr)
        .inOnTimePane(FIRST_WINDOW)
        .containsInAnyOrder(KV.of("u1", new CtrCounts(3, 1)), KV.of("u2", new CtrCounts(1, 0)));
    PAssert.that(ctr.apply("DescribePanes", ParDo.of(new DescribePane())))
        .inWindow(FIRST_WINDOW)
        .containsInAnyOrder("u1 ON_TIME#0 3/1", "u2 ON_TIME#0 1/0");
    pipeline.run().waitUntilFinish();
  }

  @Test
  void earlyFiringsShowTheRunningCountsBeforeTheWindowCloses(TestPipeline pipeline) {
    TestStream<ClickEvent> events =
        TestStream.create(AvroCoder.of(ClickEvent.class))
            .advanceWatermarkTo(BASE)
            .addElements(event("e1", "u1", "impression", Duration.standardSeconds(30)))
            .advanceProcessingTime(EARLY_FIRING_DELAY.multipliedBy(2))
            .addElements(event("e2", "u1", "click", Duration.standardMinutes(1)))
            .advanceProcessingTime(EARLY_FIRING_DELAY.multipliedBy(2))
            .addElements(event("e3", "u1", "impression", Duration.standardMinutes(2)))
            .advanceWatermarkToInfinity();

    PCollection<KV<String, CtrCounts>> ctr =
        pipeline
            .apply(events)
            .apply(
                CtrPerUser.overFiveMinuteWindows()
                    .withAllowedLateness(ALLOWED_LATENESS)
                    .withEarlyFiringsEvery(EARLY_FIRING_DELAY));

    PAssert.that(ctr)
        .inEarlyPane(FIRST_WINDOW)
        .containsInAnyOrder(KV.of("u1", new CtrCounts(1, 0)), KV.of("u1", new CtrCounts(1, 1)));
    PAssert.that(ctr).inOnTimePane(FIRST_WINDOW).containsInAnyOrder(KV.of("u1", new CtrCounts(2, 1)));
    PAssert.that(ctr.apply("DescribePanes", ParDo.of(new DescribePane())))
        .inWindow(FIRST_WINDOW)
        .containsInAnyOrder("u1 EARLY#0 1/0", "u1 EARLY#1 1/1", "u1 ON_TIME#2 2/1");
    pipeline.run().waitUntilFinish();
  }

  @Test
  void lateEventsWithinTheAllowedLatenessUpdateTheWindow(TestPipeline pipeline) {
    TestStream<ClickEvent> events =
        TestStream.create(AvroCoder.of(ClickEvent.class))
            .advanceWatermarkTo(BASE)
            .addElements(
                event("e1", "u1", "impression", Duration.standardMinutes(1)),
                event("e2", "u1", "click", Duration.standardMinutes(2)),
                event("e3", "u2", "impression", Duration.standardMinutes(2)))
            // The first window closes and fires its on-time pane.
            .advanceWatermarkTo(BASE.plus(Duration.standardMinutes(6)))
            // Late for the first window, but within the 10 minutes allowed after its end (12:05 to 12:15).
            .addElements(event("e4", "u1", "impression", Duration.standardMinutes(3)))
            .advanceWatermarkTo(BASE.plus(Duration.standardMinutes(12)))
            .addElements(event("e5", "u1", "click", Duration.standardMinutes(4)))
            .advanceWatermarkToInfinity();

    PCollection<KV<String, CtrCounts>> ctr =
        pipeline.apply(events).apply(CtrPerUser.overFiveMinuteWindows().withAllowedLateness(ALLOWED_LATENESS));

    PAssert.that(ctr)
        .inOnTimePane(FIRST_WINDOW)
        .containsInAnyOrder(KV.of("u1", new CtrCounts(1, 1)), KV.of("u2", new CtrCounts(1, 0)));
    // Panes accumulate: each late pane holds the window's whole total so far, not just the late event.
    PAssert.that(ctr)
        .inLatePane(FIRST_WINDOW)
        .containsInAnyOrder(KV.of("u1", new CtrCounts(2, 1)), KV.of("u1", new CtrCounts(2, 2)));
    PAssert.that(ctr.apply("DescribePanes", ParDo.of(new DescribePane())))
        .inWindow(FIRST_WINDOW)
        .containsInAnyOrder("u1 ON_TIME#0 1/1", "u2 ON_TIME#0 1/0", "u1 LATE#1 2/1", "u1 LATE#2 2/2");
    pipeline.run().waitUntilFinish();
  }

  @Test
  void eventsLaterThanTheAllowedLatenessAreDropped(TestPipeline pipeline) {
    TestStream<ClickEvent> events =
        TestStream.create(AvroCoder.of(ClickEvent.class))
            .advanceWatermarkTo(BASE)
            .addElements(
                event("e1", "u1", "impression", Duration.standardMinutes(1)),
                event("e2", "u1", "click", Duration.standardMinutes(2)))
            // Past the end of the first window plus its allowed lateness (12:15): the window is gone.
            .advanceWatermarkTo(BASE.plus(FIVE_MINUTES).plus(ALLOWED_LATENESS).plus(Duration.standardMinutes(1)))
            .addElements(
                event("e3", "u1", "impression", Duration.standardMinutes(3)),
                event("e4", "u1", "click", Duration.standardMinutes(4)),
                // On time for the window it belongs to, so still counted.
                event("e5", "u1", "impression", Duration.standardMinutes(17)))
            .advanceWatermarkToInfinity();

    PCollection<KV<String, CtrCounts>> ctr =
        pipeline.apply(events).apply(CtrPerUser.overFiveMinuteWindows().withAllowedLateness(ALLOWED_LATENESS));

    IntervalWindow windowOfTheLastEvent =
        new IntervalWindow(BASE.plus(Duration.standardMinutes(15)), FIVE_MINUTES);
    PAssert.that(ctr).inWindow(FIRST_WINDOW).containsInAnyOrder(KV.of("u1", new CtrCounts(1, 1)));
    PAssert.that(ctr).inFinalPane(FIRST_WINDOW).containsInAnyOrder(KV.of("u1", new CtrCounts(1, 1)));
    PAssert.that(ctr).inLatePane(FIRST_WINDOW).empty();
    PAssert.that(ctr).inOnTimePane(windowOfTheLastEvent).containsInAnyOrder(KV.of("u1", new CtrCounts(1, 0)));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertThat(droppedDueToLateness(result), equalTo(2L));
  }

  @Test
  void windowsAreAlignedToTheEpochAndAnEventOnABoundaryStartsTheNextWindow(TestPipeline pipeline) {
    PCollection<KV<String, CtrCounts>> ctr =
        pipeline
            .apply(
                Create.timestamped(
                        event("e1", "u1", "impression", FIVE_MINUTES.minus(Duration.millis(1))),
                        event("e2", "u1", "impression", FIVE_MINUTES),
                        event("e3", "u1", "click", FIVE_MINUTES))
                    .withCoder(AvroCoder.of(ClickEvent.class)))
            .apply(CtrPerUser.overFiveMinuteWindows());

    PAssert.that(ctr).inOnTimePane(FIRST_WINDOW).containsInAnyOrder(KV.of("u1", new CtrCounts(1, 0)));
    PAssert.that(ctr).inOnTimePane(SECOND_WINDOW).containsInAnyOrder(KV.of("u1", new CtrCounts(1, 1)));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void otherWindowSizesAreAlignedToTheEpochToo(TestPipeline pipeline) {
    // 12:00 is not a multiple of 7 minutes since the epoch; the 7-minute window holding it runs 11:56 to 12:03.
    IntervalWindow sevenMinuteWindow =
        new IntervalWindow(new Instant(1_709_294_160_000L), Duration.standardMinutes(7));

    PCollection<KV<String, CtrCounts>> ctr =
        pipeline
            .apply(
                Create.timestamped(
                        event("e1", "u1", "impression", Duration.ZERO),
                        event("e2", "u1", "click", Duration.standardMinutes(2)))
                    .withCoder(AvroCoder.of(ClickEvent.class)))
            .apply(CtrPerUser.overFiveMinuteWindows().withWindowSize(Duration.standardMinutes(7)));

    PAssert.that(ctr).inOnTimePane(sevenMinuteWindow).containsInAnyOrder(KV.of("u1", new CtrCounts(1, 1)));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void countsEachUserInEachWindowSeparately(TestPipeline pipeline) {
    PCollection<KV<String, CtrCounts>> ctr =
        pipeline
            .apply(
                Create.timestamped(
                        event("e1", "alice", "impression", Duration.standardMinutes(1)),
                        event("e2", "bob", "impression", Duration.standardMinutes(1)),
                        event("e3", "alice", "click", Duration.standardMinutes(2)),
                        event("e4", "alice", "impression", Duration.standardMinutes(3)),
                        event("e5", "bob", "impression", Duration.standardMinutes(4)),
                        // carol only views: a window with neither impressions nor clicks gives no row.
                        event("e6", "carol", "view", Duration.standardMinutes(4)),
                        event("e7", "bob", "click", Duration.standardMinutes(6)),
                        event("e8", "carol", "click", Duration.standardMinutes(7)),
                        event("e9", "alice", "purchase", Duration.standardMinutes(8)))
                    .withCoder(AvroCoder.of(ClickEvent.class)))
            .apply(CtrPerUser.overFiveMinuteWindows());

    PAssert.that(ctr)
        .inOnTimePane(FIRST_WINDOW)
        .containsInAnyOrder(KV.of("alice", new CtrCounts(2, 1)), KV.of("bob", new CtrCounts(2, 0)));
    PAssert.that(ctr)
        .inOnTimePane(SECOND_WINDOW)
        .containsInAnyOrder(KV.of("bob", new CtrCounts(0, 1)), KV.of("carol", new CtrCounts(0, 1)));
    PAssert.that(ctr)
        .containsInAnyOrder(
            KV.of("alice", new CtrCounts(2, 1)),
            KV.of("bob", new CtrCounts(2, 0)),
            KV.of("bob", new CtrCounts(0, 1)),
            KV.of("carol", new CtrCounts(0, 1)));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void countsTheEventTypesOverTheWindowsOfItsDeclaration(TestPipeline pipeline) {
    IntervalWindow firstTenMinutes = new IntervalWindow(BASE, TEN_MINUTES);
    IntervalWindow secondTenMinutes = new IntervalWindow(BASE.plus(TEN_MINUTES), TEN_MINUTES);

    PCollection<KV<String, CtrCounts>> viewsAndPurchases =
        pipeline
            .apply(
                Create.timestamped(
                        event("e1", "alice", "view", Duration.standardMinutes(1)),
                        // Impressions and clicks are not what this declaration counts.
                        event("e2", "alice", "impression", Duration.standardMinutes(2)),
                        event("e3", "alice", "click", Duration.standardMinutes(3)),
                        event("e4", "alice", "view", Duration.standardMinutes(4)),
                        // Five-minute windows would split alice's views from her purchase; ten-minute ones do not.
                        event("e5", "alice", "purchase", Duration.standardMinutes(7)),
                        event("e6", "bob", "purchase", TEN_MINUTES.minus(Duration.millis(1))),
                        event("e7", "bob", "view", TEN_MINUTES),
                        event("e8", "carol", "impression", Duration.standardMinutes(5)),
                        event("e9", "carol", "click", Duration.standardMinutes(6)))
                    .withCoder(AvroCoder.of(ClickEvent.class)))
            .apply(CtrPerUser.of(VIEWS_AND_PURCHASES));

    PAssert.that(viewsAndPurchases)
        .inOnTimePane(firstTenMinutes)
        .containsInAnyOrder(KV.of("alice", new CtrCounts(2, 1)), KV.of("bob", new CtrCounts(0, 1)));
    PAssert.that(viewsAndPurchases)
        .inOnTimePane(secondTenMinutes)
        .containsInAnyOrder(KV.of("bob", new CtrCounts(1, 0)));
    PAssert.that(viewsAndPurchases)
        .containsInAnyOrder(
            KV.of("alice", new CtrCounts(2, 1)), KV.of("bob", new CtrCounts(0, 1)), KV.of("bob", new CtrCounts(1, 0)));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void rejectsADeclarationItCannotComputeSayingWhy() {
    assertThat(
        rejection(tenMinutes()
            .agg(VIEWS, PURCHASES, count().as("events"))
            .ratio("rate", "purchases", "views")),
        equalTo("CtrPerUser cannot compute feature f: it needs exactly two counts and one ratio, got"
            + " [count().where(event_type = view) as views, count().where(event_type = purchase) as purchases,"
            + " count() as events] and [rate = purchases / views]"));
    assertThat(
        rejection(tenMinutes().agg(VIEWS, PURCHASES)),
        equalTo("CtrPerUser cannot compute feature f: it needs exactly two counts and one ratio, got"
            + " [count().where(event_type = view) as views, count().where(event_type = purchase) as purchases]"
            + " and []"));
    assertThat(
        rejection(tenMinutes().agg(VIEWS, PURCHASES).ratio("rate", "views", "views")),
        equalTo("CtrPerUser cannot compute feature f: its ratio rate = views / views must divide one count by the"
            + " other"));
    assertThat(
        rejection(tenMinutes().agg(count().as("events"), PURCHASES).ratio("rate", "purchases", "events")),
        equalTo("CtrPerUser cannot compute feature f: count() as events counts every event; CtrPerUser needs a"
            + " where(field, value) on each count"));
    assertThat(
        rejection(tenMinutes()
            .agg(VIEWS, count().where("item_id", "ad-1").as("ad_events"))
            .ratio("rate", "ad_events", "views")),
        equalTo("CtrPerUser cannot compute feature f: its counts test different fields (event_type = view,"
            + " item_id = ad-1); CtrPerUser reads one"));
    assertThat(
        rejection(tenMinutes()
            .agg(count().where("event_type", "view").as("a"), count().where("event_type", "view").as("b"))
            .ratio("rate", "a", "b")),
        equalTo("CtrPerUser cannot compute feature f: both its counts match event_type = view"));
    assertThat(
        rejection(tenMinutes()
            .agg(count().where("kind", "view").as("views"), count().where("kind", "purchase").as("purchases"))
            .ratio("rate", "purchases", "views")),
        equalTo("CtrPerUser cannot compute feature f: it reads the field 'kind', which click events do not have;"
            + " fields: [event_id, user_id, event_type, item_id, session_id, timestamp]"));
  }

  @Test
  void rejectsBadSettingsNamingTheParameterAndTheValue() {
    CtrPerUser ctr = CtrPerUser.overFiveMinuteWindows();

    IllegalArgumentException size =
        assertThrows(IllegalArgumentException.class, () -> ctr.withWindowSize(Duration.ZERO));
    assertThat(size.getMessage(), equalTo("windowSize must be a positive duration, got PT0S"));

    IllegalArgumentException lateness =
        assertThrows(IllegalArgumentException.class, () -> ctr.withAllowedLateness(Duration.standardMinutes(-1)));
    assertThat(lateness.getMessage(), equalTo("allowedLateness must be zero or positive, got PT-60S"));

    IllegalArgumentException delay =
        assertThrows(IllegalArgumentException.class, () -> ctr.withEarlyFiringsEvery(Duration.millis(-5)));
    assertThat(delay.getMessage(), equalTo("earlyFiringDelay must be a positive duration, got PT-0.005S"));

    IllegalArgumentException noDelay =
        assertThrows(IllegalArgumentException.class, () -> ctr.withEarlyFiringsEvery(null));
    assertThat(noDelay.getMessage(), equalTo("earlyFiringDelay must be a positive duration, got null"));
  }

  private static TumblingAggregation.Builder tenMinutes() {
    return TumblingAggregation.named("f").groupBy("user_id").window(minutes(10));
  }

  private static String rejection(TumblingAggregation.Builder feature) {
    TumblingAggregation declared = feature.build();
    return assertThrows(IllegalArgumentException.class, () -> CtrPerUser.of(declared)).getMessage();
  }

  private static TimestampedValue<ClickEvent> event(String id, String user, String type, Duration afterBase) {
    Instant time = BASE.plus(afterBase);
    return TimestampedValue.of(
        ClickEvent.newBuilder()
            .setEventId(id)
            .setUserId(user)
            .setEventType(type)
            .setTimestamp(time.getMillis())
            .build(),
        time);
  }

  /**
   * Elements the runner dropped as too late, whichever step reports them. The Direct runner names the counter
   * {@code DroppedDueToLateness}; runners built on {@code LateDataDroppingDoFnRunner} name it
   * {@code droppedDueToLateness}.
   */
  private static long droppedDueToLateness(PipelineResult result) {
    MetricQueryResults metrics = result.metrics().queryMetrics(MetricsFilter.builder().build());
    long dropped = 0;
    for (MetricResult<Long> counter : metrics.getCounters()) {
      if (counter.getName().getName().equalsIgnoreCase("droppedDueToLateness")) {
        dropped += counter.hasCommitted() ? counter.getCommitted() : counter.getAttempted();
      }
    }
    return dropped;
  }

  /** "user TIMING#index impressions/clicks": pins every pane of a window, with its timing and order. */
  static final class DescribePane extends DoFn<KV<String, CtrCounts>, String> {
    @ProcessElement
    public void processElement(@Element KV<String, CtrCounts> ctr, PaneInfo pane, OutputReceiver<String> out) {
      CtrCounts counts = ctr.getValue();
      out.output(
          ctr.getKey() + " " + pane.getTiming() + "#" + pane.getIndex() + " " + counts.impressions() + "/"
              + counts.clicks());
    }
  }
}
