package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.CannotProvideCoderException;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.TimeDomain;
import org.apache.beam.sdk.state.Timer;
import org.apache.beam.sdk.state.TimerSpec;
import org.apache.beam.sdk.state.TimerSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.Combine.CombineFn;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.AfterPane;
import org.apache.beam.sdk.transforms.windowing.AfterWatermark;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.WindowingStrategy;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * {@code Combine.perKey} over event-time tumbling windows aligned to the epoch, for streams, kept in keyed state in
 * the global window instead of Beam's per-window machinery. Same outputs, windows and panes as {@link
 * TumblingWindowAggregate}'s default trigger: a window fires once when the watermark passes its end (ON_TIME), then
 * once per element that arrives within the allowed lateness (LATE, accumulated); elements later than that are
 * dropped and counted in {@code droppedDueToLateness}, as the runner counts them.
 *
 * <pre>{@code
 * PCollection<KV<String, Long>> sums =
 *     values.apply(CombinePerKeyInKeyedState.of(Sum.ofLongs(), Duration.standardMinutes(5))
 *         .withAllowedLateness(Duration.standardMinutes(10)));
 * }</pre>
 *
 * <p>Why: on a streaming runner {@code Combine.perKey} runs Beam's {@code GroupAlsoByWindow} for every element: a
 * trigger, a watermark hold, pane bookkeeping and timers per key and window, each state cell addressed by the
 * window's encoded name. That was half of the CPU of every feature live (docs/benchmarks.md). Here each element
 * reads and writes one value per key, which holds the key's open windows, and one event-time timer per key fires
 * at the next window end.
 *
 * <p><b>Several windows per row.</b> {@link #withWindowsRead} makes a window's output read the accumulators of the
 * windows before it too, as a moving average does: a window's row then changes when a late element lands in any of
 * them. Each window keeps its own accumulator until the last row that reads it can no longer change. A window gives
 * a row only when it has elements of its own.
 *
 * <p><b>Lateness.</b> The transform cannot read the watermark; it knows a lower bound per key, the latest time a
 * timer of the key fired at, kept for as long as the pipeline runs (as {@link RollingAggregate} keeps its latest
 * times). An element is dropped when that bound is past the end of every window whose row it would change plus the
 * allowed lateness; it is counted in {@code droppedDueToLateness} when it is too late for its own window's row, even
 * if a later window's row still reads it. So a key's elements are judged as {@code GroupAlsoByWindow} judges them
 * once its first window has fired; before that, and for a key never seen, an element is taken as on time: its
 * window fires at the next watermark, ON_TIME, where {@code GroupAlsoByWindow} would have dropped it or called its
 * pane LATE. A pane is marked last when the window has closed by the time it fires (always without allowed
 * lateness); a later watermark the key has not seen cannot mark it.
 *
 * <p>Input in any windows: it is put in the global window first. Output in the tumbling windows, timestamped at
 * each window's last millisecond, windowed as {@link TumblingWindowAggregate}'s output is.
 */
public final class CombinePerKeyInKeyedState<K, InputT, AccumT, OutputT>
    extends PTransform<PCollection<KV<K, InputT>>, PCollection<KV<K, OutputT>>> {

  /** The output of a window read from its own accumulator and those of the windows before it. */
  public interface OutputOverWindows<AccumT, OutputT> extends Serializable {
    /**
     * The output of {@code window} from {@code latestFirst}: its own accumulator first (never null), then that of
     * each window before it, null where that window had no element or is no longer held.
     */
    OutputT extract(IntervalWindow window, List<AccumT> latestFirst);
  }

  static final String NAMESPACE = "CombinePerKeyInKeyedState";
  /** The name Beam's runners give the same count in {@code GroupAlsoByWindow}. */
  static final String DROPPED_DUE_TO_LATENESS = "droppedDueToLateness";

  private final CombineFn<InputT, AccumT, OutputT> combineFn;
  private final Duration windowSize;
  private final Duration allowedLateness;
  private final int windowsRead;
  private final OutputOverWindows<AccumT, OutputT> outputOverWindows;

  private CombinePerKeyInKeyedState(
      CombineFn<InputT, AccumT, OutputT> combineFn,
      Duration windowSize,
      Duration allowedLateness,
      int windowsRead,
      OutputOverWindows<AccumT, OutputT> outputOverWindows) {
    this.combineFn = combineFn;
    this.windowSize = windowSize;
    this.allowedLateness = allowedLateness;
    this.windowsRead = windowsRead;
    this.outputOverWindows = outputOverWindows;
  }

  /** Combines each key's values per tumbling window of {@code windowSize}, with no allowed lateness. */
  public static <K, InputT, AccumT, OutputT> CombinePerKeyInKeyedState<K, InputT, AccumT, OutputT> of(
      CombineFn<InputT, AccumT, OutputT> combineFn, Duration windowSize) {
    requireNonNull(combineFn, "combineFn");
    if (windowSize == null || !windowSize.isLongerThan(Duration.ZERO)) {
      throw new IllegalArgumentException("windowSize must be a positive duration, got " + windowSize);
    }
    return new CombinePerKeyInKeyedState<>(combineFn, windowSize, Duration.ZERO, 1, null);
  }

  /** How long after a window's end late elements still update it. */
  public CombinePerKeyInKeyedState<K, InputT, AccumT, OutputT> withAllowedLateness(Duration lateness) {
    return new CombinePerKeyInKeyedState<>(
        combineFn, windowSize, FeatureSteps.checkAllowedLateness(lateness), windowsRead, outputOverWindows);
  }

  /** Each window's output read by {@code output} from its accumulator and those of the {@code windows - 1} before. */
  public CombinePerKeyInKeyedState<K, InputT, AccumT, OutputT> withWindowsRead(
      int windows, OutputOverWindows<AccumT, OutputT> output) {
    if (windows < 1) {
      throw new IllegalArgumentException("windowsRead must be at least 1, got " + windows);
    }
    return new CombinePerKeyInKeyedState<>(
        combineFn, windowSize, allowedLateness, windows, requireNonNull(output, "output"));
  }

  @Override
  public PCollection<KV<K, OutputT>> expand(PCollection<KV<K, InputT>> input) {
    if (!(input.getCoder() instanceof KvCoder)) {
      throw new IllegalArgumentException("CombinePerKeyInKeyedState needs a KvCoder, got " + input.getCoder());
    }
    KvCoder<K, InputT> inputCoder = (KvCoder<K, InputT>) input.getCoder();
    Coder<AccumT> accumulatorCoder;
    Coder<OutputT> outputCoder;
    try {
      accumulatorCoder =
          combineFn.getAccumulatorCoder(input.getPipeline().getCoderRegistry(), inputCoder.getValueCoder());
      outputCoder =
          combineFn.getDefaultOutputCoder(input.getPipeline().getCoderRegistry(), inputCoder.getValueCoder());
    } catch (CannotProvideCoderException e) {
      throw new IllegalArgumentException(
          "CombinePerKeyInKeyedState cannot keep " + combineFn.getClass().getName() + "'s accumulators: " + e.getMessage()
              + "; give the CombineFn getAccumulatorCoder and getDefaultOutputCoder", e);
    }
    PCollection<KV<K, OutputT>> combined = input
        .apply("IntoGlobalWindow", Window.<KV<K, InputT>>into(new GlobalWindows()))
        .apply("CombineInKeyedState", ParDo.of(new CombineInStateFn<>(this, accumulatorCoder)))
        .setCoder(KvCoder.of(inputCoder.getKeyCoder(), outputCoder));
    // The DoFn outputs each element in its tumbling window, so its collection must be windowed so itself: a runner
    // encodes elements with their windows' coder between steps (Flink copies them between chained steps too).
    combined.setWindowingStrategyInternal(outputWindowing());
    return combined;
  }

  /** What the default trigger of {@link TumblingWindowAggregate} gives: the tumbling windows, accumulating. */
  private WindowingStrategy<Object, IntervalWindow> outputWindowing() {
    return WindowingStrategy.of(FixedWindows.of(windowSize))
        .withTrigger(AfterWatermark.pastEndOfWindow().withLateFirings(AfterPane.elementCountAtLeast(1)))
        .withAllowedLateness(allowedLateness)
        .withMode(WindowingStrategy.AccumulationMode.ACCUMULATING_FIRED_PANES);
  }

  /** How far a window has come: open, fired on time, or closed to rows of its own (held for later windows' rows). */
  enum Stage {
    OPEN,
    FIRED,
    CLOSED
  }

  /** One window of a key: its accumulator, how far it has come and how many panes it has given. Mutable. */
  static final class HeldWindow<AccumT> {
    AccumT accumulator;
    Stage stage;
    long panes;

    HeldWindow(AccumT accumulator, Stage stage, long panes) {
      this.accumulator = accumulator;
      this.stage = stage;
      this.panes = panes;
    }
  }

  /** One key's held windows by start, and the latest watermark a timer of the key has shown. Mutable. */
  static final class KeyWindows<AccumT> {
    long watermarkAtLeast;
    long timerAt;
    final TreeMap<Long, HeldWindow<AccumT>> windows;

    KeyWindows(long watermarkAtLeast, long timerAt, TreeMap<Long, HeldWindow<AccumT>> windows) {
      this.watermarkAtLeast = watermarkAtLeast;
      this.timerAt = timerAt;
      this.windows = windows;
    }
  }

  /** The watermark bound and timer as varlongs, then each window: start, stage, panes and accumulator. */
  static final class KeyWindowsCoder<AccumT> extends CustomCoder<KeyWindows<AccumT>> {
    private static final Stage[] STAGES = Stage.values();
    private final Coder<AccumT> accumulatorCoder;

    KeyWindowsCoder(Coder<AccumT> accumulatorCoder) {
      this.accumulatorCoder = accumulatorCoder;
    }

    @Override
    public void encode(KeyWindows<AccumT> key, OutputStream out) throws IOException {
      VarLongCoder.of().encode(key.watermarkAtLeast, out);
      VarLongCoder.of().encode(key.timerAt, out);
      VarIntCoder.of().encode(key.windows.size(), out);
      for (Map.Entry<Long, HeldWindow<AccumT>> window : key.windows.entrySet()) {
        VarLongCoder.of().encode(window.getKey(), out);
        out.write(window.getValue().stage.ordinal());
        VarLongCoder.of().encode(window.getValue().panes, out);
        accumulatorCoder.encode(window.getValue().accumulator, out);
      }
    }

    @Override
    public KeyWindows<AccumT> decode(InputStream in) throws IOException {
      long watermarkAtLeast = VarLongCoder.of().decode(in);
      long timerAt = VarLongCoder.of().decode(in);
      int size = VarIntCoder.of().decode(in);
      TreeMap<Long, HeldWindow<AccumT>> windows = new TreeMap<>();
      for (int i = 0; i < size; i++) {
        long start = VarLongCoder.of().decode(in);
        int stage = in.read();
        if (stage < 0 || stage >= STAGES.length) {
          throw new IOException("unknown window stage " + stage + ": the bytes are not a KeyWindowsCoder's");
        }
        long panes = VarLongCoder.of().decode(in);
        windows.put(start, new HeldWindow<>(accumulatorCoder.decode(in), STAGES[stage], panes));
      }
      return new KeyWindows<>(watermarkAtLeast, timerAt, windows);
    }

    @Override
    public List<? extends Coder<?>> getCoderArguments() {
      return Collections.singletonList(accumulatorCoder);
    }

    @Override
    public void verifyDeterministic() throws NonDeterministicException {
      accumulatorCoder.verifyDeterministic();
    }
  }

  /** Per key: its windows' accumulators in one value, and one timer at the next window end or expiry. */
  static final class CombineInStateFn<K, InputT, AccumT, OutputT> extends DoFn<KV<K, InputT>, KV<K, OutputT>> {
    private static final String WINDOWS = "windows";
    private static final String NEXT = "next";
    private static final long NO_TIMER = Long.MAX_VALUE;

    @StateId(WINDOWS)
    private final StateSpec<ValueState<KeyWindows<AccumT>>> windowsSpec;

    @TimerId(NEXT)
    private final TimerSpec nextSpec = TimerSpecs.timer(TimeDomain.EVENT_TIME);

    private final Counter droppedDueToLateness = Metrics.counter(NAMESPACE, DROPPED_DUE_TO_LATENESS);
    private final CombineFn<InputT, AccumT, OutputT> combineFn;
    private final OutputOverWindows<AccumT, OutputT> outputOverWindows;
    private final long sizeMillis;
    private final long latenessMillis;
    private final int windowsRead;

    CombineInStateFn(CombinePerKeyInKeyedState<K, InputT, AccumT, OutputT> spec, Coder<AccumT> accumulatorCoder) {
      this.windowsSpec = StateSpecs.value(new KeyWindowsCoder<>(accumulatorCoder));
      this.combineFn = spec.combineFn;
      this.outputOverWindows = spec.outputOverWindows;
      this.sizeMillis = spec.windowSize.getMillis();
      this.latenessMillis = spec.allowedLateness.getMillis();
      this.windowsRead = spec.windowsRead;
    }

    @ProcessElement
    public void processElement(
        @Element KV<K, InputT> element,
        @Timestamp Instant timestamp,
        @StateId(WINDOWS) ValueState<KeyWindows<AccumT>> state,
        @TimerId(NEXT) Timer next,
        OutputReceiver<KV<K, OutputT>> out) {
      KeyWindows<AccumT> key = state.read();
      if (key == null) {
        key = new KeyWindows<>(Long.MIN_VALUE, NO_TIMER, new TreeMap<>());
      }
      long watermark = key.watermarkAtLeast;
      long start = windowStart(timestamp.getMillis());
      // The last window whose row this element changes, past its lateness: nothing it would change remains.
      if (closeTime(start + (windowsRead - 1) * sizeMillis) <= watermark) {
        droppedDueToLateness.inc();
        return;
      }
      HeldWindow<AccumT> window = key.windows.get(start);
      if (window == null) {
        Stage stage = closeTime(start) <= watermark ? Stage.CLOSED
            : endTime(start) <= watermark ? Stage.FIRED : Stage.OPEN;
        window = new HeldWindow<>(combineFn.createAccumulator(), stage, 0);
        key.windows.put(start, window);
        // Only a new window can bring the key's next stage forward: the others' stages move only on the timer.
        long due = dueOf(start, stage);
        if (due < key.timerAt) {
          key.timerAt = due;
          next.set(new Instant(due - 1));
        }
      }
      if (window.stage == Stage.CLOSED) {
        // Too late for its own window's row, as the runner counts it there; later windows' rows still read it.
        droppedDueToLateness.inc();
      }
      window.accumulator = combineFn.addInput(window.accumulator, element.getValue());
      // Every fired row this element changes gives a late pane now, as the default trigger's late firings do.
      for (int i = 0; i < windowsRead; i++) {
        long rowStart = start + i * sizeMillis;
        HeldWindow<AccumT> row = i == 0 ? window : key.windows.get(rowStart);
        if (row != null && row.stage == Stage.FIRED) {
          emit(element.getKey(), rowStart, key, row, PaneInfo.Timing.LATE, false, out);
        }
      }
      state.write(key);
    }

    @OnTimer(NEXT)
    public void onNext(
        @Timestamp Instant firedAt,
        @Key K keyValue,
        @StateId(WINDOWS) ValueState<KeyWindows<AccumT>> state,
        @TimerId(NEXT) Timer next,
        OutputReceiver<KV<K, OutputT>> out) {
      // A timer fires once the watermark has passed its time.
      long now = firedAt.getMillis() + 1;
      KeyWindows<AccumT> key = state.read();
      if (key == null) {
        return;
      }
      key.watermarkAtLeast = Math.max(key.watermarkAtLeast, now);
      // Windows in order, so a row reads the windows before it as they were when it fired; the expired ones go after
      // the loop, as a row firing now may still read them.
      List<Long> expired = new ArrayList<>();
      for (Map.Entry<Long, HeldWindow<AccumT>> entry : key.windows.entrySet()) {
        long start = entry.getKey();
        HeldWindow<AccumT> window = entry.getValue();
        if (window.stage == Stage.OPEN && endTime(start) <= now) {
          window.stage = Stage.FIRED;
          emit(keyValue, start, key, window, PaneInfo.Timing.ON_TIME, closeTime(start) <= now, out);
        }
        if (window.stage == Stage.FIRED && closeTime(start) <= now) {
          window.stage = Stage.CLOSED;
        }
        if (closeTime(start + (windowsRead - 1) * sizeMillis) <= now) {
          expired.add(start);
        }
      }
      expired.forEach(key.windows::remove);
      key.timerAt = nextDue(key);
      if (key.timerAt != NO_TIMER) {
        next.set(new Instant(key.timerAt - 1));
      }
      state.write(key);
    }

    private void emit(
        K keyValue, long start, KeyWindows<AccumT> key, HeldWindow<AccumT> window, PaneInfo.Timing timing,
        boolean last, OutputReceiver<KV<K, OutputT>> out) {
      IntervalWindow interval = new IntervalWindow(new Instant(start), new Instant(start + sizeMillis));
      OutputT output;
      if (windowsRead == 1) {
        output = combineFn.extractOutput(window.accumulator);
      } else {
        List<AccumT> latestFirst = new ArrayList<>(windowsRead);
        for (int i = 0; i < windowsRead; i++) {
          HeldWindow<AccumT> earlier = key.windows.get(start - i * sizeMillis);
          latestFirst.add(earlier == null ? null : earlier.accumulator);
        }
        output = outputOverWindows.extract(interval, latestFirst);
      }
      long index = window.panes++;
      out.outputWindowedValue(
          KV.of(keyValue, output), interval.maxTimestamp(), Collections.singletonList(interval),
          PaneInfo.createPane(index == 0, last, timing, index, index));
    }

    /**
     * The watermark at which the key's next window comes to its next stage: the earliest window end not yet fired,
     * close or expiry. The timer is set a millisecond before, as it fires once the watermark has passed its time.
     */
    private long nextDue(KeyWindows<AccumT> key) {
      long due = NO_TIMER;
      for (Map.Entry<Long, HeldWindow<AccumT>> entry : key.windows.entrySet()) {
        due = Math.min(due, dueOf(entry.getKey(), entry.getValue().stage));
      }
      return due;
    }

    /** The watermark at which the window starting at {@code start} leaves {@code stage}. */
    private long dueOf(long start, Stage stage) {
      return stage == Stage.OPEN ? endTime(start)
          : stage == Stage.FIRED ? closeTime(start)
          : closeTime(start + (windowsRead - 1) * sizeMillis);
    }

    private long windowStart(long timestamp) {
      return timestamp - Math.floorMod(timestamp, sizeMillis);
    }

    private long maxTimestamp(long start) {
      return start + sizeMillis - 1;
    }

    /** The first watermark past the window's end, at which it fires. */
    private long endTime(long start) {
      return start + sizeMillis;
    }

    /** The first watermark at which the window takes no more elements: past its end plus the allowed lateness. */
    private long closeTime(long start) {
      long end = GlobalWindow.INSTANCE.maxTimestamp().getMillis();
      long close = maxTimestamp(start) + latenessMillis + 1;
      return close > end || close < start ? end : close;
    }
  }
}
