package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.CannotProvideCoderException;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.coders.SortedMapCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Combine.CombineFn;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.AfterPane;
import org.apache.beam.sdk.transforms.windowing.AfterWatermark;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.SlidingWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;

/**
 * Events per entity over several look-back sizes, on hopping (sliding) event-time windows: every {@code period}, for
 * each entity with an event in the last {@code longest size}, one {@link Counts} whose {@code counts()[i]} is the
 * number of the entity's events with a timestamp in {@code [windowEnd - sizes[i], windowEnd)}.
 *
 * <pre>{@code
 * events.apply("CountClicksOver1And10Minutes",
 *     SlidingWindowCount.of(Duration.standardMinutes(1),
 *         List.of(Duration.standardMinutes(1), Duration.standardMinutes(10))));
 * }</pre>
 *
 * <p>One sliding window of the longest size every {@code period} (aligned to the epoch) holds all sizes: its events
 * are counted per period bucket (at most {@code longest / period} buckets, combined per key), and the counts of each
 * size are sums of the buckets that start at or after {@code windowEnd - size}. Every size is a whole multiple of the
 * period, so each size covers whole buckets. An entity's event appears in {@code longest / period} windows, so the
 * output has that many {@code Counts} per active entity and period: keep the longest size a small multiple of the
 * period. A window without events of the entity gives no {@code Counts}: once an entity's events all fall out of the
 * longest size, nothing says its counts are now zero, so a sink that keeps the latest row keeps stale counts.
 *
 * <p>Assumes each element's timestamp is its event's time ({@link AssignEventTime} upstream): windows are assigned
 * from element timestamps, buckets from {@link FeatureEvent#timestamp()}.
 *
 * <p>A window fires once when the watermark passes its end (the on-time pane) and once more for each late event within
 * the allowed lateness (zero unless {@link #withAllowedLateness} says otherwise). Panes accumulate: a later pane of a
 * window counts every event of the earlier ones and more, so a sink may keep the pane with the larger counts. Events
 * later than the allowed lateness are dropped by the runner and counted in Beam's own counter: {@code
 * droppedDueToLateness} ({@code LateDataDroppingDoFnRunner}, on portable and Flink runners), {@code
 * DroppedDueToLateness} on the Direct runner (once per window the event would have joined).
 *
 * <p>Works on bounded and unbounded input. The output stays in the sliding windows.
 */
public final class SlidingWindowCount
    extends PTransform<PCollection<FeatureEvent>, PCollection<SlidingWindowCount.Counts>> {
  private final Duration period;
  private final List<Duration> sizes;
  private final Duration allowedLateness;

  private SlidingWindowCount(Duration period, List<Duration> sizes, Duration allowedLateness) {
    this.period = period;
    this.sizes = sizes;
    this.allowedLateness = allowedLateness;
  }

  /**
   * Counts over each of {@code sizes} (each a positive whole multiple of {@code period}), every {@code period}, with no
   * allowed lateness. {@link Counts#counts()} follows the order of {@code sizes}.
   */
  public static SlidingWindowCount of(Duration period, List<Duration> sizes) {
    if (period == null || !period.isLongerThan(Duration.ZERO)) {
      throw new IllegalArgumentException("period must be a positive duration, got " + period);
    }
    if (sizes == null || sizes.isEmpty()) {
      throw new IllegalArgumentException("sizes must name at least one window size, got " + sizes);
    }
    for (Duration size : sizes) {
      if (size == null || !size.isLongerThan(Duration.ZERO) || size.getMillis() % period.getMillis() != 0) {
        throw new IllegalArgumentException(
            "sizes must be positive whole multiples of the period " + period + ", got " + size + " in " + sizes);
      }
    }
    return new SlidingWindowCount(period, List.copyOf(sizes), Duration.ZERO);
  }

  /** How long after a window's end late events still update it. */
  public SlidingWindowCount withAllowedLateness(Duration lateness) {
    FeatureSteps.checkAllowedLateness(lateness);
    return new SlidingWindowCount(period, sizes, lateness);
  }

  @Override
  public PCollection<Counts> expand(PCollection<FeatureEvent> events) {
    Duration longest = sizes.stream().max(Duration::compareTo).orElseThrow();
    long[] sizeMillis = sizes.stream().mapToLong(Duration::getMillis).toArray();
    return events
        .apply("KeyByEntity", FeatureSteps.keyByEntity())
        .apply(
            "WindowIntoSlidingWindows",
            Window.<KV<String, FeatureEvent>>into(SlidingWindows.of(longest).every(period))
                .triggering(AfterWatermark.pastEndOfWindow().withLateFirings(AfterPane.elementCountAtLeast(1)))
                .withAllowedLateness(allowedLateness)
                .accumulatingFiredPanes())
        .apply("CountPerPeriod", Combine.perKey(new CountPerPeriodFn(period.getMillis())))
        .apply("SumPerSize", ParDo.of(new SumPerSizeFn(sizeMillis)))
        .setCoder(Counts.Coder.of());
  }

  /** Event counts by the start of their period bucket (epoch milliseconds). */
  static final class CountPerPeriodFn
      extends CombineFn<FeatureEvent, SortedMap<Long, Long>, SortedMap<Long, Long>> {
    private static final Coder<SortedMap<Long, Long>> BUCKETS =
        SortedMapCoder.of(VarLongCoder.of(), VarLongCoder.of());

    private final long periodMillis;

    CountPerPeriodFn(long periodMillis) {
      this.periodMillis = periodMillis;
    }

    @Override
    public SortedMap<Long, Long> createAccumulator() {
      return new TreeMap<>();
    }

    @Override
    public SortedMap<Long, Long> addInput(SortedMap<Long, Long> buckets, FeatureEvent event) {
      buckets.merge(Math.floorDiv(event.timestamp(), periodMillis) * periodMillis, 1L, Long::sum);
      return buckets;
    }

    @Override
    public SortedMap<Long, Long> mergeAccumulators(Iterable<SortedMap<Long, Long>> accumulators) {
      SortedMap<Long, Long> merged = new TreeMap<>();
      for (SortedMap<Long, Long> buckets : accumulators) {
        buckets.forEach((start, count) -> merged.merge(start, count, Long::sum));
      }
      return merged;
    }

    /** A copy: with accumulating panes the accumulator lives on in state after the pane fires. */
    @Override
    public SortedMap<Long, Long> extractOutput(SortedMap<Long, Long> buckets) {
      return new TreeMap<>(buckets);
    }

    @Override
    public Coder<SortedMap<Long, Long>> getAccumulatorCoder(
        CoderRegistry registry, Coder<FeatureEvent> inputCoder) throws CannotProvideCoderException {
      return BUCKETS;
    }

    @Override
    public Coder<SortedMap<Long, Long>> getDefaultOutputCoder(
        CoderRegistry registry, Coder<FeatureEvent> inputCoder) throws CannotProvideCoderException {
      return BUCKETS;
    }
  }

  /** Per size, the sum of the window's buckets that start in {@code [end - size, end)}. */
  static final class SumPerSizeFn extends DoFn<KV<String, SortedMap<Long, Long>>, Counts> {
    private final long[] sizeMillis;

    SumPerSizeFn(long[] sizeMillis) {
      this.sizeMillis = sizeMillis;
    }

    @ProcessElement
    public void processElement(
        @Element KV<String, SortedMap<Long, Long>> buckets, IntervalWindow window, OutputReceiver<Counts> out) {
      long end = window.end().getMillis();
      long[] counts = new long[sizeMillis.length];
      for (Map.Entry<Long, Long> bucket : buckets.getValue().subMap(Long.MIN_VALUE, end).entrySet()) {
        for (int i = 0; i < sizeMillis.length; i++) {
          if (bucket.getKey() >= end - sizeMillis[i]) {
            counts[i] += bucket.getValue();
          }
        }
      }
      out.output(new Counts(buckets.getKey(), end, counts));
    }
  }

  /** An entity's event counts over each size, for the window that ends (exclusive) at {@link #windowEnd()}. */
  public static final class Counts {
    private final String entity;
    private final long windowEnd;
    private final long[] counts;

    public Counts(String entity, long windowEnd, long... counts) {
      this.entity = requireNonNull(entity, "entity");
      this.windowEnd = windowEnd;
      this.counts = counts.clone();
    }

    public String entity() {
      return entity;
    }

    /** The window's end, epoch milliseconds, exclusive. */
    public long windowEnd() {
      return windowEnd;
    }

    /** One count per size, in the order the sizes were given. */
    public long[] counts() {
      return counts.clone();
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof Counts)) {
        return false;
      }
      Counts other = (Counts) o;
      return entity.equals(other.entity) && windowEnd == other.windowEnd && Arrays.equals(counts, other.counts);
    }

    @Override
    public int hashCode() {
      return 31 * (31 * entity.hashCode() + Long.hashCode(windowEnd)) + Arrays.hashCode(counts);
    }

    @Override
    public String toString() {
      return entity + " until " + windowEnd + Arrays.toString(counts);
    }

    /** A compact, deterministic coder. */
    public static final class Coder extends AtomicCoder<Counts> {
      private static final Coder INSTANCE = new Coder();

      public static Coder of() {
        return INSTANCE;
      }

      private Coder() {}

      @Override
      public void encode(Counts value, OutputStream out) throws IOException {
        StringUtf8Coder.of().encode(value.entity, out);
        VarLongCoder.of().encode(value.windowEnd, out);
        VarIntCoder.of().encode(value.counts.length, out);
        for (long count : value.counts) {
          VarLongCoder.of().encode(count, out);
        }
      }

      @Override
      public Counts decode(InputStream in) throws IOException {
        String entity = StringUtf8Coder.of().decode(in);
        long windowEnd = VarLongCoder.of().decode(in);
        long[] counts = new long[VarIntCoder.of().decode(in)];
        for (int i = 0; i < counts.length; i++) {
          counts[i] = VarLongCoder.of().decode(in);
        }
        return new Counts(entity, windowEnd, counts);
      }

      @Override
      public void verifyDeterministic() {}

      @Override
      public boolean consistentWithEquals() {
        return true;
      }
    }
  }
}
