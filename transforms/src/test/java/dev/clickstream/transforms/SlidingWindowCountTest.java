package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.transforms.SlidingWindowCount.Counts;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.transforms.windowing.SlidingWindows;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.WindowingStrategy;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Counts over 1- and 10-minute look-backs every minute: exact counts for every window, then one test per lateness
 * case (as in Beam's {@code LeaderBoardTest}): on time, late but allowed, too late; then the settings and the coder.
 */
@ExtendWith(TestPipelineExtension.class)
class SlidingWindowCountTest {
  /** 2024-03-01T12:00:00Z: a minute boundary. */
  private static final long NOON = 1_709_294_400_000L;

  private static final long MINUTE = 60_000L;
  private static final Duration ONE_MINUTE = Duration.standardMinutes(1);
  private static final Duration TWO_MINUTES = Duration.standardMinutes(2);
  private static final Duration TEN_MINUTES = Duration.standardMinutes(10);

  /** The windows of a 2-minute look-back every minute that hold an event at 12:00:30. */
  private static final IntervalWindow ENDING_12_01 = window(1, TWO_MINUTES);
  private static final IntervalWindow ENDING_12_02 = window(2, TWO_MINUTES);

  // ---------------------------------------------------------------------------------------------------------------
  // Counts

  @Test
  void countsEachSizeOverEveryWindowThatHoldsAnEvent(TestPipeline pipeline) {
    PCollection<Counts> counts =
        pipeline
            .apply(
                Create.timestamped(
                        event("e1", "u1", NOON + 30_000),
                        event("e2", "u1", NOON + 5 * MINUTE + 10_000),
                        event("e3", "u1", NOON + 10 * MINUTE - 1),
                        // On a minute boundary: the first window it is in ends at 12:04.
                        event("e4", "u2", NOON + 3 * MINUTE))
                    .withCoder(FeatureEvent.Coder.of()))
            .apply(SlidingWindowCount.of(ONE_MINUTE, List.of(ONE_MINUTE, TEN_MINUTES)));

    // Window ends (minutes after noon, exclusive) and the counts over [end - 1 min, end) and [end - 10 min, end).
    List<Counts> expected = new ArrayList<>();
    expected.add(counts("u1", 1, 1, 1));
    expected.addAll(countsForEnds("u1", 2, 5, 0, 1));
    expected.add(counts("u1", 6, 1, 2));
    expected.addAll(countsForEnds("u1", 7, 9, 0, 2));
    expected.add(counts("u1", 10, 1, 3));
    expected.addAll(countsForEnds("u1", 11, 15, 0, 2));
    expected.addAll(countsForEnds("u1", 16, 19, 0, 1));
    expected.add(counts("u2", 4, 1, 1));
    expected.addAll(countsForEnds("u2", 5, 13, 0, 1));
    PAssert.that(counts).containsInAnyOrder(expected);
    PAssert.that(counts)
        .inOnTimePane(window(10, TEN_MINUTES))
        .containsInAnyOrder(counts("u1", 10, 1, 3), counts("u2", 10, 0, 1));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void countsFollowTheOrderTheSizesWereGivenIn(TestPipeline pipeline) {
    PCollection<Counts> counts =
        pipeline
            .apply(Create.timestamped(event("e1", "u1", NOON + 30_000)).withCoder(FeatureEvent.Coder.of()))
            .apply(SlidingWindowCount.of(ONE_MINUTE, List.of(TWO_MINUTES, ONE_MINUTE)));

    PAssert.that(counts).containsInAnyOrder(counts("u1", 1, 1, 1), counts("u1", 2, 1, 0));
    pipeline.run().waitUntilFinish();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Lateness

  @Test
  void onTimeEventsFireOneOnTimePanePerWindow(TestPipeline pipeline) {
    TestStream<FeatureEvent> events =
        TestStream.create(FeatureEvent.Coder.of())
            .advanceWatermarkTo(new Instant(NOON))
            .addElements(event("e1", "u1", NOON + 30_000))
            .advanceWatermarkTo(new Instant(NOON + 40_000))
            .addElements(event("e2", "u1", NOON + 50_000))
            .advanceWatermarkToInfinity();

    PCollection<Counts> counts =
        pipeline.apply(events).apply(twoMinutesEveryMinute().withAllowedLateness(Duration.standardMinutes(5)));

    PAssert.that(counts).inOnTimePane(ENDING_12_01).containsInAnyOrder(counts("u1", 1, 2, 2));
    PAssert.that(counts).inOnTimePane(ENDING_12_02).containsInAnyOrder(counts("u1", 2, 0, 2));
    PAssert.that(counts.apply("DescribePanes", ParDo.of(new DescribePane())))
        .containsInAnyOrder("u1@1 ON_TIME#0 [2, 2]", "u1@2 ON_TIME#0 [0, 2]");
    pipeline.run().waitUntilFinish();
  }

  @Test
  void aLateEventWithinTheAllowedLatenessFiresLargerLatePanes(TestPipeline pipeline) {
    TestStream<FeatureEvent> events =
        TestStream.create(FeatureEvent.Coder.of())
            .advanceWatermarkTo(new Instant(NOON))
            .addElements(event("e1", "u1", NOON + 30_000))
            // Both windows of the event close and fire their on-time panes.
            .advanceWatermarkTo(new Instant(NOON + 3 * MINUTE))
            // Late for both, but within the 5 minutes allowed after their ends.
            .addElements(event("e2", "u1", NOON + 50_000))
            .advanceWatermarkToInfinity();

    PCollection<Counts> counts =
        pipeline.apply(events).apply(twoMinutesEveryMinute().withAllowedLateness(Duration.standardMinutes(5)));

    PAssert.that(counts).inOnTimePane(ENDING_12_01).containsInAnyOrder(counts("u1", 1, 1, 1));
    PAssert.that(counts).inOnTimePane(ENDING_12_02).containsInAnyOrder(counts("u1", 2, 0, 1));
    // Panes accumulate: a late pane counts every event of the window so far.
    PAssert.that(counts).inLatePane(ENDING_12_01).containsInAnyOrder(counts("u1", 1, 2, 2));
    PAssert.that(counts).inLatePane(ENDING_12_02).containsInAnyOrder(counts("u1", 2, 0, 2));
    PAssert.that(counts.apply("DescribePanes", ParDo.of(new DescribePane())))
        .containsInAnyOrder(
            "u1@1 ON_TIME#0 [1, 1]", "u1@2 ON_TIME#0 [0, 1]", "u1@1 LATE#1 [2, 2]", "u1@2 LATE#1 [0, 2]");
    pipeline.run().waitUntilFinish();
  }

  @Test
  void aWindowPastItsAllowedLatenessDropsTheEventWhileALaterWindowStillCountsIt(TestPipeline pipeline) {
    TestStream<FeatureEvent> events =
        TestStream.create(FeatureEvent.Coder.of())
            .advanceWatermarkTo(new Instant(NOON))
            .addElements(event("e1", "u1", NOON + 30_000))
            // The window ending 12:01 is gone (12:01 plus 1 minute of lateness); the one ending 12:02 is not.
            .advanceWatermarkTo(new Instant(NOON + 2 * MINUTE + 30_000))
            .addElements(event("e2", "u1", NOON + 50_000))
            .advanceWatermarkToInfinity();

    PCollection<Counts> counts = pipeline.apply(events).apply(twoMinutesEveryMinute().withAllowedLateness(ONE_MINUTE));

    PAssert.that(counts).inWindow(ENDING_12_01).containsInAnyOrder(counts("u1", 1, 1, 1));
    PAssert.that(counts).inFinalPane(ENDING_12_01).containsInAnyOrder(counts("u1", 1, 1, 1));
    PAssert.that(counts).inLatePane(ENDING_12_01).empty();
    PAssert.that(counts).inLatePane(ENDING_12_02).containsInAnyOrder(counts("u1", 2, 0, 2));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    // Dropped from one window of the two it belongs to.
    assertThat(TileAggregateTest.droppedDueToLateness(result), equalTo(1L));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Settings

  @Test
  void rejectsBadSettingsNamingTheParameterAndTheValue() {
    assertRejected(
        () -> SlidingWindowCount.of(null, List.of(ONE_MINUTE)), "period must be a positive duration, got null");
    assertRejected(
        () -> SlidingWindowCount.of(Duration.ZERO, List.of(ONE_MINUTE)),
        "period must be a positive duration, got PT0S");
    assertRejected(
        () -> SlidingWindowCount.of(ONE_MINUTE, null), "sizes must name at least one window size, got null");
    assertRejected(
        () -> SlidingWindowCount.of(ONE_MINUTE, List.of()), "sizes must name at least one window size, got []");
    assertRejected(
        () -> SlidingWindowCount.of(ONE_MINUTE, List.of(TEN_MINUTES, Duration.standardSeconds(90))),
        "sizes must be positive whole multiples of the period PT60S, got PT90S in [PT600S, PT90S]");
    assertRejected(
        () -> SlidingWindowCount.of(ONE_MINUTE, List.of(Duration.ZERO)),
        "sizes must be positive whole multiples of the period PT60S, got PT0S in [PT0S]");
    assertRejected(
        () -> SlidingWindowCount.of(ONE_MINUTE, Arrays.asList(ONE_MINUTE, null)),
        "sizes must be positive whole multiples of the period PT60S, got null in [PT60S, null]");
    assertRejected(
        () -> twoMinutesEveryMinute().withAllowedLateness(Duration.millis(-1)),
        "allowedLateness must be zero or positive, got PT-0.001S");
    assertRejected(
        () -> twoMinutesEveryMinute().withAllowedLateness(null), "allowedLateness must be zero or positive, got null");
  }

  @Test
  void windowsOfTheLongestSizeSlideByThePeriodAndAccumulate() {
    SlidingWindowCount original = SlidingWindowCount.of(ONE_MINUTE, List.of(ONE_MINUTE, TEN_MINUTES, TWO_MINUTES));
    SlidingWindowCount late = original.withAllowedLateness(TWO_MINUTES);

    WindowingStrategy<?, ?> strategy = windowingOf(late);

    assertThat(strategy.getWindowFn(), equalTo(SlidingWindows.of(TEN_MINUTES).every(ONE_MINUTE)));
    assertThat(strategy.getAllowedLateness(), equalTo(TWO_MINUTES));
    assertThat(strategy.getMode(), equalTo(WindowingStrategy.AccumulationMode.ACCUMULATING_FIRED_PANES));
    assertThat(windowingOf(original).getAllowedLateness(), equalTo(Duration.ZERO));
  }

  @Test
  void countsHaveADeterministicCoderThatRoundTrips() throws Exception {
    Counts counts = new Counts("u1", NOON + MINUTE, 0, 3, Long.MAX_VALUE);
    Counts equal = new Counts("u1", NOON + MINUTE, 0, 3, Long.MAX_VALUE);

    CoderProperties.coderDeterministic(Counts.Coder.of(), counts, equal);
    CoderProperties.coderDecodeEncodeEqual(Counts.Coder.of(), counts);
    CoderProperties.coderDecodeEncodeEqual(Counts.Coder.of(), new Counts("", 0));
    CoderProperties.coderSerializable(Counts.Coder.of());
  }

  /** The windowing of the counts, from a pipeline that is built but not run. */
  private static WindowingStrategy<?, ?> windowingOf(SlidingWindowCount count) {
    Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.create());
    return pipeline
        .apply(Create.timestamped(event("e1", "u1", NOON)).withCoder(FeatureEvent.Coder.of()))
        .apply(count)
        .getWindowingStrategy();
  }

  private static void assertRejected(Runnable setting, String message) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, setting::run);
    assertThat(e.getMessage(), equalTo(message));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Fixtures

  /** Counts over [end - 1 min, end) and [end - 2 min, end), every minute. */
  private static SlidingWindowCount twoMinutesEveryMinute() {
    return SlidingWindowCount.of(ONE_MINUTE, List.of(ONE_MINUTE, TWO_MINUTES));
  }

  /** The sliding window of {@code size} that ends {@code endMinute} minutes after noon. */
  private static IntervalWindow window(long endMinute, Duration size) {
    Instant end = new Instant(NOON + endMinute * MINUTE);
    return new IntervalWindow(end.minus(size), end);
  }

  private static Counts counts(String entity, long endMinute, long... counts) {
    return new Counts(entity, NOON + endMinute * MINUTE, counts);
  }

  /** The same counts for every window ending from {@code firstEnd} to {@code lastEnd} minutes after noon. */
  private static List<Counts> countsForEnds(String entity, long firstEnd, long lastEnd, long... counts) {
    List<Counts> all = new ArrayList<>();
    for (long end = firstEnd; end <= lastEnd; end++) {
      all.add(counts(entity, end, counts));
    }
    return all;
  }

  /** An event without a value, its element timestamp its event time. */
  private static TimestampedValue<FeatureEvent> event(String id, String entity, long timestamp) {
    return TimestampedValue.of(new FeatureEvent(id, entity, timestamp, null), new Instant(timestamp));
  }

  /** "entity@endMinute TIMING#index counts": pins every pane, with its timing and order. */
  static final class DescribePane extends DoFn<Counts, String> {
    @ProcessElement
    public void processElement(@Element Counts counts, PaneInfo pane, OutputReceiver<String> out) {
      out.output(
          counts.entity() + "@" + (counts.windowEnd() - NOON) / MINUTE + " " + pane.getTiming() + "#"
              + pane.getIndex() + " " + Arrays.toString(counts.counts()));
    }
  }
}
