package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Sum;
import org.apache.beam.sdk.transforms.windowing.AfterPane;
import org.apache.beam.sdk.transforms.windowing.AfterWatermark;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.WindowingStrategy;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The keyed-state combine gives the panes Beam's own {@code Combine.perKey} gives under the default trigger: the same
 * streams go through both, and every pane of every key and window is pinned.
 */
@ExtendWith(TestPipelineExtension.class)
class CombinePerKeyInKeyedStateTest {
  private static final Instant BASE = Instant.parse("2026-11-23T12:00:00Z");
  private static final Duration FIVE_MINUTES = Duration.standardMinutes(5);
  private static final Duration LATENESS = Duration.standardMinutes(10);
  private static final KvCoder<String, Long> KV_CODER = KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of());

  /**
   * Two keys over three windows: on-time values, late values within the lateness (each a late pane), a value too
   * late for its window (dropped), and a key whose values arrive only after its window's end (its first pane late).
   */
  private static TestStream<KV<String, Long>> stream() {
    return TestStream.create(KV_CODER)
        .advanceWatermarkTo(BASE)
        .addElements(at("a", 1, 1), at("a", 2, 2), at("b", 10, 3), at("a", 4, 7))
        // 12:05 passed: the first window fires on time for a and b.
        .advanceWatermarkTo(BASE.plus(Duration.standardMinutes(6)))
        .addElements(at("a", 100, 4), at("b", 20, 8))
        // 12:10 passed: the second window fires (a: 4, b: 20).
        .advanceWatermarkTo(BASE.plus(Duration.standardMinutes(11)))
        .addElements(at("a", 1000, 3), at("a", 8, 6), at("b", 40, 9))
        // 12:15 passed: the first window is closed to late values, the second still takes them until 12:20.
        .advanceWatermarkTo(BASE.plus(Duration.standardMinutes(16)))
        .addElements(at("a", 10_000, 2), at("b", 80, 9), at("a", 16, 12))
        .advanceWatermarkToInfinity();
  }

  private static final List<String> EXPECTED_PANES = List.of(
      "a 12:00 ON_TIME#0 3", "b 12:00 ON_TIME#0 10", "a 12:00 LATE#1 103",
      "a 12:05 ON_TIME#0 4", "b 12:05 ON_TIME#0 20",
      "a 12:00 LATE#2 1103", "a 12:05 LATE#1 12", "b 12:05 LATE#1 60",
      "b 12:05 LATE#2 140", "a 12:10 LATE#0 16");

  @Test
  void givesThePanesOfCombinePerKeyUnderTheDefaultTrigger(TestPipeline pipeline) {
    PCollection<String> byBeam = pipeline.apply("StreamToBeam", stream())
        .apply(Window.<KV<String, Long>>into(FixedWindows.of(FIVE_MINUTES))
            .triggering(AfterWatermark.pastEndOfWindow().withLateFirings(AfterPane.elementCountAtLeast(1)))
            .withAllowedLateness(LATENESS)
            .accumulatingFiredPanes())
        .apply(Combine.perKey(Sum.ofLongs()))
        .apply("DescribeBeam", ParDo.of(new DescribePane()));
    PCollection<String> inKeyedState = pipeline.apply("StreamToKeyedState", stream())
        .apply(CombinePerKeyInKeyedState.<String, Long, long[], Long>of(Sum.ofLongs(), FIVE_MINUTES)
            .withAllowedLateness(LATENESS))
        .apply("DescribeKeyedState", ParDo.of(new DescribePane()));

    PAssert.that(byBeam).containsInAnyOrder(EXPECTED_PANES);
    PAssert.that(inKeyedState).containsInAnyOrder(EXPECTED_PANES);
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    // a's 10,000 at 12:02 arrived after 12:15.
    assertThat(droppedInKeyedState(result), equalTo(1L));
  }

  @Test
  void outputStaysInTheTumblingWindowsWithTheirWindowing(TestPipeline pipeline) {
    PCollection<KV<String, Long>> sums = pipeline.apply(stream())
        .apply(CombinePerKeyInKeyedState.<String, Long, long[], Long>of(Sum.ofLongs(), FIVE_MINUTES)
            .withAllowedLateness(LATENESS));

    // The stateful DoFn's own output, windowed so: Flink encodes it with the windows' coder (the global window's
    // failed on a cluster, where elements are copied between chained steps).
    assertThat(sums.getWindowingStrategy().getWindowFn(), equalTo(FixedWindows.of(FIVE_MINUTES)));
    assertThat(sums.getWindowingStrategy().getWindowFn().windowCoder(), equalTo(IntervalWindow.getCoder()));
    assertThat(sums.getWindowingStrategy().getAllowedLateness(), equalTo(LATENESS));
    assertThat(sums.getWindowingStrategy().getMode(), equalTo(WindowingStrategy.AccumulationMode.ACCUMULATING_FIRED_PANES));
    PAssert.that(sums).inOnTimePane(new IntervalWindow(BASE, FIVE_MINUTES))
        .containsInAnyOrder(KV.of("a", 3L), KV.of("b", 10L));
    PAssert.that(sums).inLatePane(new IntervalWindow(BASE, FIVE_MINUTES))
        .containsInAnyOrder(KV.of("a", 103L), KV.of("a", 1103L));
    pipeline.run().waitUntilFinish();
  }

  @Test
  void aRowReadingEarlierWindowsChangesWithALateValueInAnyOfThem(TestPipeline pipeline) {
    // Each window's row: its own sum, and the sum over it and the window before (0 where that one had none).
    PCollection<String> rows = pipeline.apply(TestStream.create(KV_CODER)
            .advanceWatermarkTo(BASE)
            .addElements(at("a", 1, 1), at("a", 2, 6))
            .advanceWatermarkTo(BASE.plus(Duration.standardMinutes(11)))
            // Late for 12:00, which both rows read: each fired row gives a late pane.
            .addElements(at("a", 10, 2))
            // 12:15 passed: 12:00 is closed to rows of its own, but 12:05's row still reads it until 12:20.
            .advanceWatermarkTo(BASE.plus(Duration.standardMinutes(16)))
            .addElements(at("a", 100, 3))
            // 12:20 passed: nothing that reads 12:00 can change any more.
            .advanceWatermarkTo(BASE.plus(Duration.standardMinutes(21)))
            .addElements(at("a", 1000, 4))
            .advanceWatermarkToInfinity())
        .apply(CombinePerKeyInKeyedState.<String, Long, long[], Long>of(Sum.ofLongs(), FIVE_MINUTES)
            .withAllowedLateness(LATENESS)
            .withWindowsRead(2, (window, latestFirst) -> latestFirst.get(0)[0] * 1_000_000
                + latestFirst.get(0)[0] + (latestFirst.get(1) == null ? 0 : latestFirst.get(1)[0])))
        .apply(ParDo.of(new DescribePane()));

    PAssert.that(rows).containsInAnyOrder(
        "a 12:00 ON_TIME#0 1000001", "a 12:05 ON_TIME#0 2000003",
        "a 12:00 LATE#1 11000011", "a 12:05 LATE#1 2000013",
        "a 12:05 LATE#2 2000113");
    pipeline.run().waitUntilFinish();
  }

  /**
   * Where the two differ, by design: the keyed state knows the watermark only from a key's own timers, so the first
   * element of a key never seen is taken as on time, however late; Beam's own drops it.
   */
  @Test
  void takesTheFirstElementOfAKeyNeverSeenAsOnTime(TestPipeline pipeline) {
    PCollection<String> panes = pipeline.apply(TestStream.create(KV_CODER)
            .advanceWatermarkTo(BASE.plus(Duration.standardMinutes(30)))
            .addElements(at("new", 5, 1))
            .advanceWatermarkToInfinity())
        .apply(CombinePerKeyInKeyedState.<String, Long, long[], Long>of(Sum.ofLongs(), FIVE_MINUTES))
        .apply(ParDo.of(new DescribePane()));

    PAssert.that(panes).containsInAnyOrder("new 12:00 ON_TIME#0 5");
    pipeline.run().waitUntilFinish();
  }

  @Test
  void rejectsBadSettingsNamingThem() {
    assertThat(assertThrows(IllegalArgumentException.class,
            () -> CombinePerKeyInKeyedState.of(Sum.ofLongs(), Duration.ZERO)).getMessage(),
        equalTo("windowSize must be a positive duration, got PT0S"));
    assertThat(assertThrows(IllegalArgumentException.class,
            () -> CombinePerKeyInKeyedState.of(Sum.ofLongs(), FIVE_MINUTES).withAllowedLateness(Duration.millis(-1)))
            .getMessage(),
        equalTo("allowedLateness must be zero or positive, got PT-0.001S"));
    assertThat(assertThrows(IllegalArgumentException.class,
            () -> CombinePerKeyInKeyedState.<String, Long, long[], Long>of(Sum.ofLongs(), FIVE_MINUTES)
                .withWindowsRead(0, (window, latestFirst) -> 0L)).getMessage(),
        equalTo("windowsRead must be at least 1, got 0"));
  }

  private static TimestampedValue<KV<String, Long>> at(String key, long value, int minute) {
    return TimestampedValue.of(KV.of(key, value), BASE.plus(Duration.standardMinutes(minute)));
  }

  private static long droppedInKeyedState(PipelineResult result) {
    long dropped = 0;
    for (MetricResult<Long> counter : result.metrics().queryMetrics(MetricsFilter.builder()
        .addNameFilter(MetricNameFilter.named(
            CombinePerKeyInKeyedState.NAMESPACE, CombinePerKeyInKeyedState.DROPPED_DUE_TO_LATENESS))
        .build()).getCounters()) {
      dropped += counter.getAttempted();
    }
    return dropped;
  }

  /** "key HH:mm TIMING#index sum", the window by its start. */
  static final class DescribePane extends DoFn<KV<String, Long>, String> {
    @ProcessElement
    public void processElement(
        @Element KV<String, Long> sum, IntervalWindow window, PaneInfo pane, OutputReceiver<String> out) {
      out.output(sum.getKey() + " " + window.start().toDateTime(org.joda.time.DateTimeZone.UTC).toString("HH:mm") + " " + pane.getTiming() + "#"
          + pane.getIndex() + " " + sum.getValue());
    }
  }
}
