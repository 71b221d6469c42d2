package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Combine.CombineFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.windowing.AfterPane;
import org.apache.beam.sdk.transforms.windowing.AfterProcessingTime;
import org.apache.beam.sdk.transforms.windowing.AfterWatermark;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.Trigger;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollection.IsBounded;
import org.joda.time.Duration;

/**
 * A keyed aggregation over event-time tumbling windows aligned to the epoch.
 *
 * <p>Each key's values are combined per window with {@code combineFn}. By default a window fires once when the
 * watermark passes its end (the on-time pane), then once more for each late element within the allowed lateness
 * (late panes). Panes accumulate: every pane holds the whole window's result so far, so a sink may simply keep the
 * latest pane. Elements later than the allowed lateness are dropped by the runner and counted in its
 * dropped-due-to-lateness counter ({@code DroppedDueToLateness} on the Direct runner).
 *
 * <p>Works on bounded and unbounded input. The output stays in the tumbling windows, so downstream steps can read
 * the window and the pane. Under the default trigger a stream (unbounded input, or any input of a {@code
 * --streaming} run) is combined in keyed state ({@link CombinePerKeyInKeyedState}), and bounded input in a batch
 * run in hashed shards ({@link CombinePerKeyInShards}), which a sorting batch runner groups far faster when keys
 * have few values per window. Under another trigger a stream is combined per key ({@code Combine.perKey}), and
 * bounded input grouped per key, then combined.
 */
public final class TumblingWindowAggregate<K, InputT, OutputT>
    extends PTransform<PCollection<KV<K, InputT>>, PCollection<KV<K, OutputT>>> {

  private final CombineFn<InputT, ?, OutputT> combineFn;
  private final Duration windowSize;
  private final Duration allowedLateness;
  private final Duration earlyFiringDelay;
  private final Trigger trigger;
  private final boolean combineBoundedBeforeShuffle;
  private final int boundedInputShards;

  /** Few enough that Flink's batch sort sees few distinct keys per window; see docs/benchmarks.md. */
  private static final int DEFAULT_BOUNDED_INPUT_SHARDS = 4;

  private TumblingWindowAggregate(
      CombineFn<InputT, ?, OutputT> combineFn,
      Duration windowSize,
      Duration allowedLateness,
      Duration earlyFiringDelay,
      Trigger trigger,
      boolean combineBoundedBeforeShuffle,
      int boundedInputShards) {
    this.combineFn = combineFn;
    this.windowSize = windowSize;
    this.allowedLateness = allowedLateness;
    this.earlyFiringDelay = earlyFiringDelay;
    this.trigger = trigger;
    this.combineBoundedBeforeShuffle = combineBoundedBeforeShuffle;
    this.boundedInputShards = boundedInputShards;
  }

  /** Aggregates with {@code combineFn}; a window size is required, lateness defaults to zero. */
  public static <K, InputT, OutputT> TumblingWindowAggregate<K, InputT, OutputT> of(
      CombineFn<InputT, ?, OutputT> combineFn) {
    return new TumblingWindowAggregate<>(
        requireNonNull(combineFn, "combineFn"), null, Duration.ZERO, null, null, false, DEFAULT_BOUNDED_INPUT_SHARDS);
  }

  public TumblingWindowAggregate<K, InputT, OutputT> withWindowSize(Duration size) {
    if (size == null || !size.isLongerThan(Duration.ZERO)) {
      throw new IllegalArgumentException("windowSize must be a positive duration, got " + size);
    }
    return new TumblingWindowAggregate<>(
        combineFn, size, allowedLateness, earlyFiringDelay, trigger, combineBoundedBeforeShuffle, boundedInputShards);
  }

  /** How long after a window's end late elements still update it. */
  public TumblingWindowAggregate<K, InputT, OutputT> withAllowedLateness(Duration lateness) {
    return new TumblingWindowAggregate<>(
        combineFn, windowSize, FeatureSteps.checkAllowedLateness(lateness), earlyFiringDelay, trigger, combineBoundedBeforeShuffle, boundedInputShards);
  }

  /**
   * Also fire speculative (early) panes, {@code delay} of processing time after the first element of a pane, so
   * a window's running result is visible before the window closes.
   */
  public TumblingWindowAggregate<K, InputT, OutputT> withEarlyFiringsEvery(Duration delay) {
    if (delay == null || !delay.isLongerThan(Duration.ZERO)) {
      throw new IllegalArgumentException("earlyFiringDelay must be a positive duration, got " + delay);
    }
    if (trigger != null) {
      throw new IllegalArgumentException("earlyFiringDelay cannot be combined with a custom trigger");
    }
    return new TumblingWindowAggregate<>(
        combineFn, windowSize, allowedLateness, delay, trigger, combineBoundedBeforeShuffle, boundedInputShards);
  }

  /** Replaces the default trigger entirely. Panes still accumulate. */
  public TumblingWindowAggregate<K, InputT, OutputT> withTrigger(Trigger customTrigger) {
    requireNonNull(customTrigger, "trigger");
    if (earlyFiringDelay != null) {
      throw new IllegalArgumentException("a custom trigger cannot be combined with earlyFiringDelay");
    }
    return new TumblingWindowAggregate<>(
        combineFn, windowSize, allowedLateness, null, customTrigger, combineBoundedBeforeShuffle, boundedInputShards);
  }

  /**
   * Combines bounded input before the shuffle too ({@code Combine.perKey}), as unbounded input always is, instead of
   * in shards. Same panes; on Flink's batch runner it sorts every value by its key twice, for the partial combine
   * and for the final one (docs/benchmarks.md). Combining first pays when a key has many values per window and the
   * shuffle crosses a network.
   */
  public TumblingWindowAggregate<K, InputT, OutputT> withBoundedInputCombinedBeforeShuffle() {
    return new TumblingWindowAggregate<>(
        combineFn, windowSize, allowedLateness, earlyFiringDelay, trigger, true, boundedInputShards);
  }

  /**
   * How many shards bounded input is combined in (see {@link CombinePerKeyInShards}), per window: more spread a
   * window's keys over more workers and hold fewer accumulators each; fewer make the runner's sort cheaper.
   */
  public TumblingWindowAggregate<K, InputT, OutputT> withBoundedInputShards(int shards) {
    if (shards < 1) {
      throw new IllegalArgumentException("boundedInputShards must be at least 1, got " + shards);
    }
    return new TumblingWindowAggregate<>(
        combineFn, windowSize, allowedLateness, earlyFiringDelay, trigger, combineBoundedBeforeShuffle, shards);
  }

  @Override
  public PCollection<KV<K, OutputT>> expand(PCollection<KV<K, InputT>> input) {
    if (windowSize == null) {
      throw new IllegalStateException("TumblingWindowAggregate needs withWindowSize(...)");
    }
    if (trigger == null && earlyFiringDelay == null && FeatureSteps.isStream(input)) {
      return input.apply("CombinePerKeyInKeyedState", inKeyedState(combineFn, windowSize, allowedLateness));
    }
    PCollection<KV<K, InputT>> windowed =
        input.apply(
            "WindowIntoTumblingWindows",
            Window.<KV<K, InputT>>into(FixedWindows.of(windowSize))
                .triggering(effectiveTrigger())
                .withAllowedLateness(allowedLateness)
                .accumulatingFiredPanes());
    if (input.isBounded() == IsBounded.BOUNDED && !combineBoundedBeforeShuffle) {
      if (trigger == null && earlyFiringDelay == null) {
        // The default trigger fires each window of bounded input once, so panes per shard are panes per key.
        return windowed.apply("CombinePerKeyInShards", inShards(combineFn, boundedInputShards));
      }
      // Combine.perKey is GroupByKey then Combine.groupedValues by definition; spelled out, the runner cannot lift
      // the combine (see withBoundedInputCombinedBeforeShuffle).
      return windowed
          .apply("GroupPerKey", GroupByKey.create())
          .apply("CombineGroupedValues", Combine.groupedValues(combineFn));
    }
    // A stream under another trigger: keyed state holds one accumulator per key and window instead of every value.
    return windowed.apply("CombinePerKey", Combine.perKey(combineFn));
  }

  private static <K, InputT, AccumT, OutputT> CombinePerKeyInKeyedState<K, InputT, AccumT, OutputT> inKeyedState(
      CombineFn<InputT, AccumT, OutputT> combineFn, Duration windowSize, Duration allowedLateness) {
    return CombinePerKeyInKeyedState.<K, InputT, AccumT, OutputT>of(combineFn, windowSize)
        .withAllowedLateness(allowedLateness);
  }

  private static <K, InputT, AccumT, OutputT> CombinePerKeyInShards<K, InputT, AccumT, OutputT> inShards(
      CombineFn<InputT, AccumT, OutputT> combineFn, int shards) {
    return CombinePerKeyInShards.of(combineFn, shards);
  }

  private Trigger effectiveTrigger() {
    if (trigger != null) {
      return trigger;
    }
    AfterWatermark.AfterWatermarkEarlyAndLate onTimeAndLate =
        AfterWatermark.pastEndOfWindow().withLateFirings(AfterPane.elementCountAtLeast(1));
    if (earlyFiringDelay == null) {
      return onTimeAndLate;
    }
    return onTimeAndLate.withEarlyFirings(
        AfterProcessingTime.pastFirstElementInPane().plusDelayOf(earlyFiringDelay));
  }
}
