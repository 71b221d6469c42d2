package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.DriftRecord;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.DoubleStream;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.BigEndianLongCoder;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderException;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.ListCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Combine.CombineFn;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.AfterPane;
import org.apache.beam.sdk.transforms.windowing.AfterWatermark;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.SlidingWindows;
import org.apache.beam.sdk.transforms.windowing.TimestampCombiner;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.TimestampedValue.TimestampedValueCoder;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Drift of one numeric feature, as a {@link DriftMonitor} declares it: for each window of the monitor's length
 * (tumbling, aligned to the epoch) that holds values, one {@link DriftRecord} comparing them with the values of the
 * {@code k} windows just before it ({@link DriftMonitor#evaluate}).
 *
 * <pre>{@code
 * DriftMonitor monitor = DriftMonitor.named("ctr_5min.ctr").build();
 * PCollection<DriftRecord> drift = ctrs.apply("DetectCtrDrift", DetectDrift.of(monitor));
 * drift.apply("WriteDriftStatus",
 *     WriteToOnlineStore.into(DriftMonitor.TABLE, record -> monitor.row(record, clock.nowMillis())));
 * }</pre>
 *
 * <p><b>Input.</b> The feature's values, bounded or not, in any windowing (they are rewindowed), each timestamped at
 * the event time it describes: a per-user CTR of a 5-minute window, say, timestamped inside that window (as {@link
 * TumblingFeatures}' output is, at the window's last millisecond). Every element is one value of the distribution, so
 * feed one value per entity and window: accumulating late panes upstream would count an entity again. A NaN has no
 * place in either statistic: it is dropped and counted in {@code values_not_a_number}.
 *
 * <p><b>Windows.</b> With window length {@code w} and {@code k} reference windows, the record of the recent window
 * {@code [e − w, e)} compares its values with those of {@code [e − (k + 1)·w, e − w)}. A stream ({@code
 * FeatureSteps.isStream}) keeps each tumbling window's values once, in keyed state ({@link
 * CombinePerKeyInKeyedState}), and a record reads its window's and the {@code k} before it. Bounded input of a batch
 * run goes into sliding windows of {@code (k + 1)·w} every {@code w}, aligned to the epoch, and each value's own
 * timestamp (kept through the grouping) says which side it is on. Either way a window without values of its own
 * gives no record: its values were evaluated as recent in an earlier window. So each window of values gives one
 * record per pane, covering {@code [e − w, e)}, timestamped at {@code e − 1 ms} and in that tumbling window. The
 * first windows of a stream, and those after a gap in the values, have fewer windows of reference values: they are
 * {@link DriftRecord.Status#INSUFFICIENT_DATA} until the reference holds the monitor's minimum.
 *
 * <p><b>Panes and lateness.</b> A record is made once when the watermark passes its window's end (the on-time
 * pane), then once more for each late value within the allowed lateness (zero unless {@link #withAllowedLateness}
 * says otherwise). Panes accumulate, so a late pane evaluates its window again with every value so far. A value is
 * recent in its own window and reference in the {@code k} after it, so a late value re-evaluates each of those that
 * has already been output and holds recent values. {@link DriftMonitor#TABLE}'s replace rule keeps the latest window
 * and, of its panes, the one over the most values. A value later than the allowed lateness for its own window is
 * counted in {@code droppedDueToLateness} (by the runner, per expired sliding window, or by {@link
 * CombinePerKeyInKeyedState}): its own window is then not re-evaluated, but it still joins the reference of the
 * later windows that are open.
 *
 * <p><b>Memory.</b> All values of a monitor share one key, so one worker evaluates them, and each record reads its
 * {@code k + 1} windows of raw values into memory. A stream holds each value once until the last record that reads
 * it is past its lateness; a batch run's runner buffers it once per sliding window ({@code k + 1} times). That suits
 * per-entity feature values at this project's scale (tens of thousands of users per window); millions of values per
 * window would need a mergeable quantile sketch per window in place of the raw values, and PSI and KS computed from
 * it.
 *
 * <p><b>Metrics</b>, in the namespace {@code DetectDrift}: counters {@code evaluations} (one per record, late panes
 * included), {@code drift_detected} and {@code insufficient_data} (records of those statuses) and {@code
 * values_not_a_number}; distribution {@code psi_milli}, PSI × 1000 rounded, of every record with a PSI.
 */
public final class DetectDrift extends PTransform<PCollection<Double>, PCollection<DriftRecord>> {
  /** None, as the pipelines' {@code --allowedLateness} default. */
  public static final Duration DEFAULT_ALLOWED_LATENESS = Duration.ZERO;

  static final String STAGE = "DetectDrift";
  static final String EVALUATIONS = "evaluations";
  static final String DRIFT_DETECTED = "drift_detected";
  static final String INSUFFICIENT_DATA = "insufficient_data";
  static final String VALUES_NOT_A_NUMBER = "values_not_a_number";
  static final String PSI_MILLI = "psi_milli";

  private final DriftMonitor monitor;
  private final Duration allowedLateness;

  private DetectDrift(DriftMonitor monitor, Duration allowedLateness) {
    this.monitor = monitor;
    this.allowedLateness = allowedLateness;
  }

  /** Drift of the values as {@code monitor} declares it, with no allowed lateness. */
  public static DetectDrift of(DriftMonitor monitor) {
    return new DetectDrift(requireNonNull(monitor, "monitor"), DEFAULT_ALLOWED_LATENESS);
  }

  /** How long after a sliding window's end late values still re-evaluate it. */
  public DetectDrift withAllowedLateness(Duration lateness) {
    FeatureSteps.checkAllowedLateness(lateness);
    return new DetectDrift(monitor, lateness);
  }

  DriftMonitor monitor() {
    return monitor;
  }

  Duration allowedLateness() {
    return allowedLateness;
  }

  @Override
  public PCollection<DriftRecord> expand(PCollection<Double> values) {
    Duration window = Duration.millis(monitor.windowMillis());
    PCollection<KV<String, TimestampedValue<Double>>> keyed =
        values
            .apply("KeyByMonitorWithEventTime", ParDo.of(new KeyWithEventTimeFn(monitor.name())))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), TimestampedValueCoder.of(DoubleCoder.of())));
    if (FeatureSteps.isStream(values)) {
      // Each window's values held once in keyed state and read by its record and the k after it, instead of being
      // buffered in k + 1 sliding windows of Beam's per-window machinery.
      DriftMonitor monitor = this.monitor;
      return keyed
          .apply("EvaluateInKeyedState",
              CombinePerKeyInKeyedState.<String, TimestampedValue<Double>, List<Double>, DriftRecord>of(
                      new CollectValuesFn(), window)
                  .withAllowedLateness(allowedLateness)
                  .withWindowsRead(monitor.referenceWindows() + 1,
                      (recentWindow, latestFirst) -> evaluate(monitor, recentWindow, latestFirst)))
          .apply("CountEvaluations", ParDo.of(new CountEvaluationsFn()))
          .setCoder(DriftRecordCoder.of());
    }
    Duration referenceAndRecent = window.multipliedBy(monitor.referenceWindows() + 1L);
    return keyed
        .apply(
            "WindowIntoReferenceAndRecent",
            Window.<KV<String, TimestampedValue<Double>>>into(SlidingWindows.of(referenceAndRecent).every(window))
                .triggering(AfterWatermark.pastEndOfWindow().withLateFirings(AfterPane.elementCountAtLeast(1)))
                .withAllowedLateness(allowedLateness)
                .accumulatingFiredPanes()
                // The pane, and the record made from it, at the recent window's last millisecond.
                .withTimestampCombiner(TimestampCombiner.END_OF_WINDOW))
        .apply("GroupPerWindow", GroupByKey.create())
        .apply("EvaluateRecentAgainstReference", ParDo.of(new EvaluateFn(monitor)))
        .setCoder(DriftRecordCoder.of())
        // In the recent window, as a stream's records are: its last millisecond lies in it.
        .apply("IntoRecentWindows", Window.into(FixedWindows.of(window)));
  }

  /** The record of {@code recentWindow}: its values against those of the windows before it, where held. */
  private static DriftRecord evaluate(DriftMonitor monitor, IntervalWindow recentWindow, List<List<Double>> latestFirst) {
    DoubleStream.Builder reference = DoubleStream.builder();
    for (List<Double> earlier : latestFirst.subList(1, latestFirst.size())) {
      if (earlier != null) {
        earlier.forEach(reference::add);
      }
    }
    double[] recent = latestFirst.get(0).stream().mapToDouble(Double::doubleValue).toArray();
    return monitor.evaluate(recentWindow.start().getMillis(), reference.build().toArray(), recent);
  }

  /** One window's values, in arrival order. */
  static final class CollectValuesFn extends CombineFn<TimestampedValue<Double>, List<Double>, DriftRecord> {
    @Override
    public List<Double> createAccumulator() {
      return new ArrayList<>();
    }

    @Override
    public List<Double> addInput(List<Double> values, TimestampedValue<Double> value) {
      values.add(value.getValue());
      return values;
    }

    @Override
    public List<Double> mergeAccumulators(Iterable<List<Double>> accumulators) {
      List<Double> merged = new ArrayList<>();
      accumulators.forEach(merged::addAll);
      return merged;
    }

    /** A record needs the windows before it too: {@link CombinePerKeyInKeyedState#withWindowsRead} evaluates. */
    @Override
    public DriftRecord extractOutput(List<Double> values) {
      throw new UnsupportedOperationException("a drift record reads the reference windows too");
    }

    @Override
    public Coder<List<Double>> getAccumulatorCoder(CoderRegistry registry, Coder<TimestampedValue<Double>> input) {
      return ListCoder.of(DoubleCoder.of());
    }

    @Override
    public Coder<DriftRecord> getDefaultOutputCoder(CoderRegistry registry, Coder<TimestampedValue<Double>> input) {
      return DriftRecordCoder.of();
    }
  }

  /** Counts each record, as {@link EvaluateFn} does for the grouped path. */
  static final class CountEvaluationsFn extends DoFn<KV<String, DriftRecord>, DriftRecord> {
    private final EvaluationMetrics metrics = new EvaluationMetrics();

    @ProcessElement
    public void processElement(@Element KV<String, DriftRecord> record, OutputReceiver<DriftRecord> out) {
      metrics.count(record.getValue());
      out.output(record.getValue());
    }
  }

  /** The counters and the PSI distribution of the records made. */
  static final class EvaluationMetrics implements Serializable {
    private final Counter evaluations = Metrics.counter(STAGE, EVALUATIONS);
    private final Counter driftDetected = Metrics.counter(STAGE, DRIFT_DETECTED);
    private final Counter insufficientData = Metrics.counter(STAGE, INSUFFICIENT_DATA);
    private final Distribution psiMilli = Metrics.distribution(STAGE, PSI_MILLI);

    void count(DriftRecord record) {
      evaluations.inc();
      if (record.status() == DriftRecord.Status.DRIFT) {
        driftDetected.inc();
      } else if (record.status() == DriftRecord.Status.INSUFFICIENT_DATA) {
        insufficientData.inc();
      }
      if (record.psi() != null) {
        psiMilli.update(Math.round(record.psi() * 1000));
      }
    }
  }

  /** Keys every value by the monitor, with its timestamp, which the grouping would otherwise drop; drops NaNs. */
  static final class KeyWithEventTimeFn extends DoFn<Double, KV<String, TimestampedValue<Double>>> {
    private final Counter notANumber = Metrics.counter(STAGE, VALUES_NOT_A_NUMBER);
    private final String feature;

    KeyWithEventTimeFn(String feature) {
      this.feature = feature;
    }

    @ProcessElement
    public void processElement(
        @Element Double value, @Timestamp Instant timestamp, OutputReceiver<KV<String, TimestampedValue<Double>>> out) {
      if (value.isNaN()) {
        notANumber.inc();
        return;
      }
      out.output(KV.of(feature, TimestampedValue.of(value, timestamp)));
    }
  }

  /** Splits a pane's values into reference and recent by timestamp, and evaluates the recent window. */
  static final class EvaluateFn extends DoFn<KV<String, Iterable<TimestampedValue<Double>>>, DriftRecord> {
    private final EvaluationMetrics metrics = new EvaluationMetrics();
    private final DriftMonitor monitor;

    EvaluateFn(DriftMonitor monitor) {
      this.monitor = monitor;
    }

    @ProcessElement
    public void processElement(
        @Element KV<String, Iterable<TimestampedValue<Double>>> pane,
        IntervalWindow window,
        OutputReceiver<DriftRecord> out) {
      long recentStart = window.end().getMillis() - monitor.windowMillis();
      DoubleStream.Builder reference = DoubleStream.builder();
      DoubleStream.Builder recent = DoubleStream.builder();
      for (TimestampedValue<Double> value : pane.getValue()) {
        (value.getTimestamp().getMillis() < recentStart ? reference : recent).add(value.getValue());
      }
      double[] recentValues = recent.build().toArray();
      if (recentValues.length == 0) {
        return;
      }
      DriftRecord record = monitor.evaluate(recentStart, reference.build().toArray(), recentValues);
      metrics.count(record);
      out.output(record);
    }
  }

  /**
   * A compact, deterministic coder: the feature, the window's start and length, the counts, PSI and KS (each
   * nullable), and the status by its label, so reordering the enum does not change what was encoded.
   */
  public static final class DriftRecordCoder extends AtomicCoder<DriftRecord> {
    private static final DriftRecordCoder INSTANCE = new DriftRecordCoder();
    private static final NullableCoder<Double> NULLABLE_DOUBLE = NullableCoder.of(DoubleCoder.of());

    public static DriftRecordCoder of() {
      return INSTANCE;
    }

    private DriftRecordCoder() {}

    @Override
    public void encode(DriftRecord record, OutputStream out) throws IOException {
      StringUtf8Coder.of().encode(record.feature(), out);
      // Epoch milliseconds may be negative, where a var-long takes ten bytes.
      BigEndianLongCoder.of().encode(record.windowStart(), out);
      VarLongCoder.of().encode(record.windowEnd() - record.windowStart(), out);
      VarLongCoder.of().encode(record.referenceCount(), out);
      VarLongCoder.of().encode(record.recentCount(), out);
      NULLABLE_DOUBLE.encode(record.psi(), out);
      NULLABLE_DOUBLE.encode(record.ks(), out);
      StringUtf8Coder.of().encode(record.status().label(), out);
    }

    @Override
    public DriftRecord decode(InputStream in) throws IOException {
      String feature = StringUtf8Coder.of().decode(in);
      long windowStart = BigEndianLongCoder.of().decode(in);
      long windowEnd = windowStart + VarLongCoder.of().decode(in);
      long referenceCount = VarLongCoder.of().decode(in);
      long recentCount = VarLongCoder.of().decode(in);
      Double psi = NULLABLE_DOUBLE.decode(in);
      Double ks = NULLABLE_DOUBLE.decode(in);
      String label = StringUtf8Coder.of().decode(in);
      return new DriftRecord(
          feature, windowStart, windowEnd, referenceCount, recentCount, psi, ks, status(label));
    }

    @Override
    public void verifyDeterministic() {}

    @Override
    public boolean consistentWithEquals() {
      return true;
    }

    private static DriftRecord.Status status(String label) throws CoderException {
      for (DriftRecord.Status status : DriftRecord.Status.values()) {
        if (status.label().equals(label)) {
          return status;
        }
      }
      throw new CoderException("unknown drift status '" + label + "': encoded by a newer build?");
    }
  }
}
