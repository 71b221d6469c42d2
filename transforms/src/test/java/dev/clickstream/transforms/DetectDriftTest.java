package dev.clickstream.transforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.DriftRecord;
import dev.clickstream.features.DriftRecord.Status;
import dev.clickstream.features.DriftStatistics;
import dev.clickstream.transforms.DetectDrift.DriftRecordCoder;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.metrics.DistributionResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
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
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.WindowingStrategy.AccumulationMode;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Drift of a small feature, every record exact: a stable distribution, a shift, too few values, values out of order,
 * then one test per lateness case (on time is every test before; late but allowed; too late), then the settings and
 * the coder.
 *
 * <p>The monitor compares each 5-minute window with the 2 before it over 4 bins, from 4 values a side, so every
 * record can be worked out by hand. Windows: W0 = [12:00, 12:05), W1 = [12:05, 12:10), W2 = [12:10, 12:15).
 */
@ExtendWith(TestPipelineExtension.class)
class DetectDriftTest {
  /** 2024-03-01T12:00:00Z: a 5-minute boundary. */
  private static final long NOON = 1_709_294_400_000L;

  private static final long MINUTE = 60_000L;
  private static final long WINDOW = 5 * MINUTE;
  private static final double EPSILON = DriftStatistics.EMPTY_BIN_PROPORTION;

  private static final DriftMonitor MONITOR =
      DriftMonitor.named("ctr_5min.ctr").referenceWindows(2).bins(4).minSamplesPerSide(4).ksThreshold(0.5).build();

  /** W0 and W1 both hold 0.1, 0.2, 0.3 and 0.4, one a minute. */
  private static final List<TimestampedValue<Double>> W0_AND_W1 =
      List.of(
          stamped(0.1, NOON + MINUTE), stamped(0.2, NOON + 2 * MINUTE),
          stamped(0.3, NOON + 3 * MINUTE), stamped(0.4, NOON + 4 * MINUTE),
          stamped(0.1, NOON + 6 * MINUTE), stamped(0.2, NOON + 7 * MINUTE),
          stamped(0.3, NOON + 8 * MINUTE), stamped(0.4, NOON + 9 * MINUTE));

  /** W0 has no reference windows with values: too little data. */
  private static final DriftRecord W0_RECORD = record(0, 0, 4, null, null, Status.INSUFFICIENT_DATA);
  /** W1 against W0: the same four values, so PSI and KS are 0. */
  private static final DriftRecord W1_RECORD = record(1, 4, 4, 0.0, 0.0, Status.OK);

  /**
   * W2 = 0.35, 0.45, 0.55, 0.65 against W0 and W1. Reference cuts at positions 2, 4, 6 of its 8 sorted values: 0.2,
   * 0.3, 0.4, so 2/8 of it in each bin; recent 0, 0, 1/4 and 3/4 (0.45 and up above the last cut). PSI, adding the
   * bins in order: 2 * (0.0001 - 0.25) ln(0.0001 / 0.25) + 0 + (0.75 - 0.25) ln 3 = 3.9104582 + 0.5493061 =
   * 4.4597643. KS: at 0.3 the reference is at 6/8, the recent values at 0: 0.75.
   */
  private static final DriftRecord SHIFTED_W2_RECORD =
      record(2, 8, 4, 0.0 + term(EPSILON, 0.25) + term(EPSILON, 0.25) + term(0.25, 0.25) + term(0.75, 0.25), 0.75,
          Status.DRIFT);

  // ---------------------------------------------------------------------------------------------------------------
  // Evaluations

  @Test
  void aStableDistributionIsOkWithExactPsiAndKs(TestPipeline pipeline) {
    List<TimestampedValue<Double>> values = new ArrayList<>(W0_AND_W1);
    values.addAll(
        List.of(
            stamped(0.15, NOON + 11 * MINUTE), stamped(0.25, NOON + 12 * MINUTE),
            stamped(0.35, NOON + 13 * MINUTE), stamped(0.45, NOON + 14 * MINUTE),
            // Undefined: dropped and counted, not a failure.
            stamped(Double.NaN, NOON + 14 * MINUTE)));

    PCollection<DriftRecord> records =
        pipeline.apply(Create.timestamped(values).withCoder(DoubleCoder.of())).apply(DetectDrift.of(MONITOR));

    // W2 = 0.15, 0.25, 0.35, 0.45: one in each reference bin, as the reference, so PSI is 0. KS: at 0.1 the
    // reference is at 2/8, the recent values at 0; it never leads or trails by more.
    PAssert.that(records).containsInAnyOrder(W0_RECORD, W1_RECORD, record(2, 8, 4, 0.0, 0.25, Status.OK));
    // Each record is in the sliding window [e - 15 min, e) whose recent part it covers, at e - 1 ms.
    PAssert.that(records.apply("DescribePanes", ParDo.of(new DescribePane())))
        .containsInAnyOrder(
            "12:00 ON_TIME#0 0+4 in [12:00, 12:05) @ 2024-03-01T12:04:59.999Z",
            "12:05 ON_TIME#0 4+4 in [12:05, 12:10) @ 2024-03-01T12:09:59.999Z",
            "12:10 ON_TIME#0 8+4 in [12:10, 12:15) @ 2024-03-01T12:14:59.999Z");
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 3, 0, 1);
    assertThat(PipelineCounters.value(result, DetectDrift.STAGE, DetectDrift.VALUES_NOT_A_NUMBER), equalTo(1L));
    assertThat(psiMilli(result), equalTo(DistributionResult.create(0, 2, 0, 0)));
  }

  @Test
  void aShiftInTheRecentWindowIsDrift(TestPipeline pipeline) {
    PCollection<DriftRecord> records =
        pipeline
            .apply(Create.timestamped(withShiftedW2(W0_AND_W1)).withCoder(DoubleCoder.of()))
            .apply(DetectDrift.of(MONITOR));

    PAssert.that(records).containsInAnyOrder(W0_RECORD, W1_RECORD, SHIFTED_W2_RECORD);
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 3, 1, 1);
    // PSI x 1000, rounded: 0 for W1, 4460 for W2.
    assertThat(psiMilli(result), equalTo(DistributionResult.create(4460, 2, 0, 4460)));
  }

  @Test
  void fewerValuesThanTheMinimumOnASideIsInsufficientData(TestPipeline pipeline) {
    PCollection<DriftRecord> records =
        pipeline
            .apply(
                Create.timestamped(
                        stamped(0.1, NOON + MINUTE), stamped(0.2, NOON + 2 * MINUTE),
                        stamped(0.3, NOON + 3 * MINUTE), stamped(0.4, NOON + 4 * MINUTE),
                        // Three recent values, one fewer than the minimum.
                        stamped(0.1, NOON + 6 * MINUTE), stamped(0.2, NOON + 7 * MINUTE),
                        stamped(0.3, NOON + 8 * MINUTE))
                    .withCoder(DoubleCoder.of()))
            .apply(DetectDrift.of(MONITOR));

    PAssert.that(records)
        .containsInAnyOrder(W0_RECORD, record(1, 4, 3, null, null, Status.INSUFFICIENT_DATA));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 2, 0, 2);
    assertThat(psiMilli(result), equalTo(DistributionResult.IDENTITY_ELEMENT));
  }

  @Test
  void valuesArrivingOutOfOrderGiveTheSameRecords(TestPipeline pipeline) {
    List<TimestampedValue<Double>> values = withShiftedW2(W0_AND_W1);
    TestStream<Double> stream =
        TestStream.create(DoubleCoder.of())
            .advanceWatermarkTo(new Instant(NOON))
            // Recent values first, then the reference, each window's values out of order.
            .addElements(values.get(11), values.get(8), values.get(10))
            .addElements(values.get(5), values.get(2), values.get(7), values.get(0))
            .addElements(values.get(9), values.get(3), values.get(6), values.get(1), values.get(4))
            .advanceWatermarkToInfinity();

    PCollection<DriftRecord> records = pipeline.apply(stream).apply(DetectDrift.of(MONITOR));

    PAssert.that(records).containsInAnyOrder(W0_RECORD, W1_RECORD, SHIFTED_W2_RECORD);
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 3, 1, 1);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Lateness

  @Test
  void aLateValueWithinTheAllowedLatenessReEvaluatesItsWindowWithEveryValue(TestPipeline pipeline) {
    TestStream<Double> stream =
        arrivingAtNoon(W0_AND_W1)
            // Past W1's end: the on-time panes of W0 and W1.
            .advanceWatermarkTo(new Instant(NOON + 2 * WINDOW))
            .addElements(stamped(0.9, NOON + 7 * MINUTE))
            .advanceWatermarkToInfinity();

    PCollection<DriftRecord> records =
        pipeline
            .apply(stream)
            .apply(DetectDrift.of(MONITOR).withAllowedLateness(Duration.standardMinutes(10)));

    // W1 = 0.1, 0.2, 0.3, 0.4, 0.9 against W0: recent 1/5, 1/5, 1/5, 2/5 over the reference's quarters, so
    // PSI = 3 * (0.2 - 0.25) ln 0.8 + (0.4 - 0.25) ln 1.6 = 0.0334715 + 0.0705006 = 0.1039721, and KS = 1 - 4/5 at
    // 0.4. Below both thresholds.
    DriftRecord lateW1 =
        record(1, 4, 5,
            0.0 + term(1.0 / 5, 0.25) + term(1.0 / 5, 0.25) + term(1.0 / 5, 0.25) + term(2.0 / 5, 0.25),
            1.0 - 4.0 / 5, Status.OK);
    IntervalWindow endingAtW1End = recentWindowEndingAt(NOON + 2 * WINDOW);
    PAssert.that(records).inOnTimePane(endingAtW1End).containsInAnyOrder(W1_RECORD);
    PAssert.that(records).inLatePane(endingAtW1End).containsInAnyOrder(lateW1);
    PAssert.that(records).containsInAnyOrder(W0_RECORD, W1_RECORD, lateW1);
    PAssert.that(records.apply("DescribePanes", ParDo.of(new DescribePane())))
        .containsInAnyOrder(
            "12:00 ON_TIME#0 0+4 in [12:00, 12:05) @ 2024-03-01T12:04:59.999Z",
            "12:05 ON_TIME#0 4+4 in [12:05, 12:10) @ 2024-03-01T12:09:59.999Z",
            "12:05 LATE#1 4+5 in [12:05, 12:10) @ 2024-03-01T12:09:59.999Z");
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 3, 0, 1);
  }

  @Test
  void aValueTooLateForItsWindowIsDroppedThereButJoinsTheReferenceOfOpenWindows(TestPipeline pipeline) {
    TestStream<Double> stream =
        arrivingAtNoon(W0_AND_W1)
            .advanceWatermarkTo(new Instant(NOON + 2 * WINDOW))
            // W1's window has expired (no allowed lateness); W2's, which holds W1 as reference, is still open.
            .addElements(
                stamped(0.9, NOON + 7 * MINUTE),
                stamped(0.1, NOON + 11 * MINUTE), stamped(0.2, NOON + 12 * MINUTE),
                stamped(0.3, NOON + 13 * MINUTE), stamped(0.4, NOON + 14 * MINUTE))
            .advanceWatermarkToInfinity();

    PCollection<DriftRecord> records = pipeline.apply(stream).apply(DetectDrift.of(MONITOR));

    // W2 = 0.1, 0.2, 0.3, 0.4 against W0, W1 and the late 0.9. The reference's 9 sorted values are cut at positions
    // 2, 4, 6: 0.2, 0.3, 0.4, so it has 2/9, 2/9, 2/9 and 3/9 in the bins, the recent values 1/4 each. KS: at 0.4
    // the reference is at 8/9, the recent values at 1.
    DriftRecord w2 =
        record(2, 9, 4,
            0.0 + term(0.25, 2.0 / 9) + term(0.25, 2.0 / 9) + term(0.25, 2.0 / 9) + term(0.25, 3.0 / 9),
            Math.abs(8.0 / 9 - 1.0), Status.OK);
    PAssert.that(records).containsInAnyOrder(W0_RECORD, W1_RECORD, w2);
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertCounters(result, 3, 0, 1);
    assertThat(TileAggregateTest.droppedDueToLateness(result), equalTo(1L));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Settings and coder

  @Test
  void allowedLatenessMustNotBeNegativeAndSettingsLeaveTheOriginalUnchanged() {
    DetectDrift defaults = DetectDrift.of(MONITOR);
    DetectDrift late = defaults.withAllowedLateness(Duration.standardMinutes(10));

    assertThat(defaults.allowedLateness(), equalTo(Duration.ZERO));
    assertThat(late.allowedLateness(), equalTo(Duration.standardMinutes(10)));
    assertThat(late.monitor(), equalTo(MONITOR));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> defaults.withAllowedLateness(Duration.millis(-1)));
    assertThat(e.getMessage(), equalTo("allowedLateness must be zero or positive, got PT-0.001S"));
    assertThrows(NullPointerException.class, () -> DetectDrift.of(null));
  }

  @Test
  void theOutputHasItsCoderAndStaysInAccumulatingRecentWindows() {
    // A batch run evaluates over sliding windows, a stream in keyed state: both output in the recent window.
    for (String mode : List.of("--streaming=false", "--streaming=true")) {
      Pipeline pipeline = Pipeline.create(PipelineOptionsFactory.fromArgs(mode).create());
      PCollection<DriftRecord> records =
          pipeline.apply(Create.of(0.5).withCoder(DoubleCoder.of())).apply(DetectDrift.of(MONITOR));

      assertThat(records.getCoder(), equalTo(DriftRecordCoder.of()));
      assertThat(records.getWindowingStrategy().getWindowFn(), equalTo(FixedWindows.of(Duration.standardMinutes(5))));
      assertThat(records.getWindowingStrategy().getMode(), equalTo(AccumulationMode.ACCUMULATING_FIRED_PANES));
    }
  }


  @Test
  void theCoderRoundTripsEveryStatusDeterministically() throws Exception {
    DriftRecord negativeTime = new DriftRecord("f", -2 * WINDOW, -WINDOW, 0, 1, null, null, Status.INSUFFICIENT_DATA);
    for (DriftRecord record : List.of(W0_RECORD, W1_RECORD, SHIFTED_W2_RECORD, negativeTime)) {
      CoderProperties.coderDecodeEncodeEqual(DriftRecordCoder.of(), record);
    }
    CoderProperties.coderDeterministic(DriftRecordCoder.of(), SHIFTED_W2_RECORD, record(2, 8, 4,
        SHIFTED_W2_RECORD.psi(), 0.75, Status.DRIFT));
    DriftRecordCoder.of().verifyDeterministic();
  }

  // ---------------------------------------------------------------------------------------------------------------

  /** The record of window {@code index} (W0, W1, W2) of {@link #MONITOR}. */
  private static DriftRecord record(
      int index, long referenceCount, long recentCount, Double psi, Double ks, Status status) {
    long start = NOON + index * WINDOW;
    return new DriftRecord("ctr_5min.ctr", start, start + WINDOW, referenceCount, recentCount, psi, ks, status);
  }

  /** One bin's PSI term, as {@link DriftStatistics#psi} computes it, so sums in bin order match it exactly. */
  private static double term(double recentShare, double referenceShare) {
    return (recentShare - referenceShare) * Math.log(recentShare / referenceShare);
  }

  /** {@code values} then W2 = 0.35, 0.45, 0.55, 0.65, one a minute. */
  private static List<TimestampedValue<Double>> withShiftedW2(List<TimestampedValue<Double>> values) {
    List<TimestampedValue<Double>> all = new ArrayList<>(values);
    all.addAll(
        List.of(
            stamped(0.35, NOON + 11 * MINUTE), stamped(0.45, NOON + 12 * MINUTE),
            stamped(0.55, NOON + 13 * MINUTE), stamped(0.65, NOON + 14 * MINUTE)));
    return all;
  }

  /** A stream whose watermark is at noon when {@code values} arrive, together. */
  @SuppressWarnings("unchecked") // TestStream takes the elements after the first as a generic varargs array.
  private static TestStream.Builder<Double> arrivingAtNoon(List<TimestampedValue<Double>> values) {
    return TestStream.create(DoubleCoder.of())
        .advanceWatermarkTo(new Instant(NOON))
        .addElements(values.get(0), values.subList(1, values.size()).toArray(new TimestampedValue[0]));
  }

  private static TimestampedValue<Double> stamped(double value, long timestamp) {
    return TimestampedValue.of(value, new Instant(timestamp));
  }

  /** The sliding window of {@link #MONITOR}: the recent window ending at {@code end} and the two before it. */
  private static IntervalWindow recentWindowEndingAt(long end) {
    return new IntervalWindow(new Instant(end - WINDOW), new Instant(end));
  }

  private static void assertCounters(PipelineResult result, long evaluations, long drift, long insufficient) {
    assertThat(
        List.of(
            PipelineCounters.value(result, DetectDrift.STAGE, DetectDrift.EVALUATIONS),
            PipelineCounters.value(result, DetectDrift.STAGE, DetectDrift.DRIFT_DETECTED),
            PipelineCounters.value(result, DetectDrift.STAGE, DetectDrift.INSUFFICIENT_DATA)),
        equalTo(List.of(evaluations, drift, insufficient)));
  }

  /** The {@code psi_milli} distribution; the identity when nothing was recorded (runners then report none). */
  private static DistributionResult psiMilli(PipelineResult result) {
    Iterable<MetricResult<DistributionResult>> distributions =
        result
            .metrics()
            .queryMetrics(
                MetricsFilter.builder()
                    .addNameFilter(MetricNameFilter.named(DetectDrift.STAGE, DetectDrift.PSI_MILLI))
                    .build())
            .getDistributions();
    for (MetricResult<DistributionResult> distribution : distributions) {
      return distribution.hasCommitted() ? distribution.getCommitted() : distribution.getAttempted();
    }
    return DistributionResult.IDENTITY_ELEMENT;
  }

  /** "recent start TIMING#index reference+recent in [window) @ timestamp": pins every pane with its time. */
  static final class DescribePane extends DoFn<DriftRecord, String> {
    @ProcessElement
    public void processElement(
        @Element DriftRecord record,
        @Timestamp Instant timestamp,
        IntervalWindow window,
        PaneInfo pane,
        OutputReceiver<String> out) {
      out.output(
          clock(record.windowStart()) + " " + pane.getTiming() + "#" + pane.getIndex() + " "
              + record.referenceCount() + "+" + record.recentCount() + " in [" + clock(window.start().getMillis())
              + ", " + clock(window.end().getMillis()) + ") @ " + timestamp);
    }

    /** HH:mm in UTC. */
    private static String clock(long millis) {
      return new Instant(millis).toString().substring(11, 16);
    }
  }
}
