package dev.clickstream.transforms;

import static dev.clickstream.features.Aggregation.count;
import static dev.clickstream.features.FeatureWindow.minutes;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.Aggregation;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureWindow;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.schemas.ClickEvent;
import java.io.Serializable;
import java.util.List;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TimestampedValue;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The compiled CTR per user over 5-minute event-time windows, one test per lateness case (as in Beam's {@code
 * LeaderBoardTest}): on time, late but allowed, too late; then window alignment, several users, and a declaration
 * other than CTR's. (Early firings: {@link TumblingFeaturesTest}.)
 */
@ExtendWith(TestPipelineExtension.class)
class CompileFeatureTest {
  private static final long UPDATED_AT = 1_111L;

  /** 2024-03-01T12:00:00Z: a 5-minute boundary. */
  private static final Instant BASE = new Instant(1_709_294_400_000L);

  private static final Duration FIVE_MINUTES = Duration.standardMinutes(5);
  private static final Duration ALLOWED_LATENESS = Duration.standardMinutes(10);

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

  /** CTR_5MIN's counts over windows of {@code length}. */
  private static TumblingAggregation ctrOver(FeatureWindow length) {
    return TumblingAggregation.named("ctr_" + length.lengthMillis())
        .groupBy("user_id")
        .window(length)
        .agg(count().where("event_type", "impression").as("impressions"),
            count().where("event_type", "click").as("clicks"))
        .ratio("ctr", "clicks", "impressions")
        .build();
  }

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
        pipeline.apply(events).apply(ctr(ALLOWED_LATENESS));

    PAssert.that(ctr)
        .inOnTimePane(FIRST_WINDOW)
        .containsInAnyOrder(KV.of("u1", new CtrCounts(3, 1)), KV.of("u2", new CtrCounts(1, 0)));
    PAssert.that(ctr.apply("DescribePanes", ParDo.of(new DescribePane())))
        .inWindow(FIRST_WINDOW)
        .containsInAnyOrder("u1 ON_TIME#0 3/1", "u2 ON_TIME#0 1/0");
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
        pipeline.apply(events).apply(ctr(ALLOWED_LATENESS));

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
        pipeline.apply(events).apply(ctr(ALLOWED_LATENESS));

    IntervalWindow windowOfTheLastEvent =
        new IntervalWindow(BASE.plus(Duration.standardMinutes(15)), FIVE_MINUTES);
    PAssert.that(ctr).inWindow(FIRST_WINDOW).containsInAnyOrder(KV.of("u1", new CtrCounts(1, 1)));
    PAssert.that(ctr).inOnTimePane(FIRST_WINDOW).containsInAnyOrder(KV.of("u1", new CtrCounts(1, 1)));
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
            .apply(ctr(Duration.ZERO));

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
            .apply(compiled(ctrOver(minutes(7)), Duration.ZERO));

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
            .apply(ctr(Duration.ZERO));

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
            .apply(compiled(VIEWS_AND_PURCHASES, Duration.ZERO));

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
  void theOnlyFiringOfABatchRunnerIsOnTime() {
    assertThat(FeatureSteps.timing(PaneInfo.NO_FIRING), equalTo(PaneInfo.Timing.ON_TIME));
    assertThat(FeatureSteps.timing(PaneInfo.ON_TIME_AND_ONLY_FIRING), equalTo(PaneInfo.Timing.ON_TIME));
  }

  @Test
  void streamingPanesKeepTheirTiming() {
    assertThat(FeatureSteps.timing(PaneInfo.createPane(true, false, PaneInfo.Timing.EARLY)),
        equalTo(PaneInfo.Timing.EARLY));
    assertThat(FeatureSteps.timing(PaneInfo.createPane(false, false, PaneInfo.Timing.LATE, 2, 1)),
        equalTo(PaneInfo.Timing.LATE));
    assertThat(FeatureSteps.timing(PaneInfo.createPane(false, false, PaneInfo.Timing.UNKNOWN, 3, 3)),
        equalTo(PaneInfo.Timing.UNKNOWN));
  }

  @Test
  void rejectsBadSettingsNamingTheParameterAndTheValue() {
    CompileFeature compiler = CompileFeature.withClock(() -> UPDATED_AT);
    IllegalArgumentException lateness =
        assertThrows(IllegalArgumentException.class, () -> compiler.withAllowedLateness(Duration.standardMinutes(-1)));
    assertThat(lateness.getMessage(), equalTo("allowedLateness must be zero or positive, got PT-60S"));
  }

  /** {@code feature} compiled, its rows as the feature's first two counts per entity. */
  private static PTransform<PCollection<ClickEvent>, PCollection<KV<String, CtrCounts>>> compiled(
      TumblingAggregation feature, Duration allowedLateness) {
    return new PTransform<PCollection<ClickEvent>, PCollection<KV<String, CtrCounts>>>() {
      @Override
      public PCollection<KV<String, CtrCounts>> expand(PCollection<ClickEvent> events) {
        return events
            .apply(feature.name(),
                CompileFeature.withClock(() -> UPDATED_AT)
                    .withAllowedLateness(allowedLateness)
                    .tumbling(feature, ClickEvent.class))
            .get(CompileFeature.rowsOf(feature.table()))
            .apply("ToCounts", ParDo.of(new ToCountsFn(feature)))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), SerializableCoder.of(CtrCounts.class)));
      }
    };
  }

  private static PTransform<PCollection<ClickEvent>, PCollection<KV<String, CtrCounts>>> ctr(Duration lateness) {
    return compiled(FeatureDefinitions.CTR_5MIN, lateness);
  }

  /** The first two counts of a row: impressions and clicks for CTR. */
  static final class ToCountsFn extends DoFn<Row, KV<String, CtrCounts>> {
    private final TumblingAggregation feature;

    ToCountsFn(TumblingAggregation feature) {
      this.feature = feature;
    }

    @ProcessElement
    public void processElement(@Element Row row, OutputReceiver<KV<String, CtrCounts>> out) {
      List<String> columns = feature.featureColumns();
      out.output(KV.of(row.getString(feature.entityField()),
          new CtrCounts(row.getInt64(columns.get(0)), row.getInt64(columns.get(1)))));
    }
  }

  /** Two counts of one entity and window. */
  static final class CtrCounts implements Serializable {
    private final long impressions;
    private final long clicks;

    CtrCounts(long impressions, long clicks) {
      this.impressions = impressions;
      this.clicks = clicks;
    }

    long impressions() {
      return impressions;
    }

    long clicks() {
      return clicks;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof CtrCounts && ((CtrCounts) o).impressions == impressions && ((CtrCounts) o).clicks == clicks;
    }

    @Override
    public int hashCode() {
      return Long.hashCode(impressions) * 31 + Long.hashCode(clicks);
    }

    @Override
    public String toString() {
      return impressions + "/" + clicks;
    }
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
