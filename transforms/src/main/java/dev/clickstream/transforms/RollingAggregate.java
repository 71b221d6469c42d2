package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.FeatureWindow;
import dev.clickstream.features.Partial;
import dev.clickstream.features.RollingWindows;
import dev.clickstream.features.WindowedAggregation;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.TimeDomain;
import org.apache.beam.sdk.state.Timer;
import org.apache.beam.sdk.state.TimerSpec;
import org.apache.beam.sdk.state.TimerSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * The pre-computed pattern of a {@link WindowedAggregation}: per entity, one partial per feature window as of the
 * entity's latest event, kept up to date event by event in keyed state.
 *
 * <p><b>What a row means.</b> For an entity whose latest event time is {@code L}, the partial of window {@code W}
 * summarizes the entity's events with a timestamp in {@code [L - W, L]}, both ends inclusive (Spark's {@code
 * rangeBetween(-W, 0)}), exactly as {@link RollingWindows#aggregate} computes it over all the entity's events. Each
 * applied event emits the entity's row on {@link #ROWS}: {@link EntityPartials#time()} is {@code L}, the partials are
 * in the order of {@link WindowedAggregation#windows()}, shortest first. Whatever the arrival order, the last row
 * emitted for an entity is the batch answer over all its applied events.
 *
 * <p><b>Order of rows.</b> An entity's rows only move forward: a later row has a later {@code time}, or the same
 * {@code time} and one more event in the longest window (an out-of-order event filled in). A sink keeps the row
 * with the greatest ({@code time}, longest-window count), which is the pre-computed table's replace rule ({@link
 * WindowedAggregation#precomputedTable()}), so writes are idempotent: runner retries and replays of rows never move
 * an entity back.
 *
 * <p><b>Lateness.</b> Event time is the element's timestamp, which must be the event's own {@link
 * FeatureEvent#timestamp()} (see {@link AssignEventTime}). An event that arrives at most the allowed lateness
 * behind the watermark is always applied, in order or not. An entity's events are held until the watermark passes
 * {@code L + longest window + allowed lateness}; after that they are cleared, and an event that would need them
 * (a timestamp in {@code [L - longest, L + longest]}) goes to {@link #TOO_LATE} and is counted in {@code
 * RollingAggregate/events_too_late}. An event older than {@code L - longest} cannot change the row as of {@code L}
 * nor any later one: it emits nothing and is counted in {@code events_before_longest_window}. Every event is counted
 * once: {@code events_applied + events_before_longest_window + events_too_late} is the number of events in. The
 * allowed lateness defaults to zero, as the pipelines' {@code --allowedLateness}. On bounded input the watermark
 * does not pass any event before the input is read, so no event is too late.
 *
 * <p><b>State.</b> Per entity, one long ({@code L}) for as long as the pipeline runs, so that an entity seen again
 * is judged against its history; and, while it is active, one {@link Partial} per distinct millisecond of its
 * events in {@code [L - longest, L]}, so memory is bounded by distinct timestamps, not by events (reported as the
 * distribution {@code RollingAggregate/timestamps_held}). The partials are one value, packed by {@link
 * HeldPartialsCoder}; each event reads and writes it once. It uses only {@code ValueState} and an event-time timer,
 * which the Flink runner supports.
 *
 * <p>Events are not deduplicated by id: a record delivered twice by its source counts twice. The output is in the
 * global window; rows are timestamped at {@code L}, too-late events keep their timestamps.
 */
public final class RollingAggregate extends PTransform<PCollection<FeatureEvent>, PCollectionTuple> {
  /** One row per applied event: the entity's partials as of its latest event time. */
  public static final TupleTag<EntityPartials> ROWS = new TupleTag<EntityPartials>() {};
  /** Events that arrived after the entity's state they needed was cleared: later than the allowed lateness. */
  public static final TupleTag<FeatureEvent> TOO_LATE = new TupleTag<FeatureEvent>() {};

  static final String STAGE = "RollingAggregate";
  static final String EVENTS_APPLIED = "events_applied";
  static final String EVENTS_BEFORE_LONGEST_WINDOW = "events_before_longest_window";
  static final String EVENTS_TOO_LATE = "events_too_late";
  static final String TIMESTAMPS_HELD = "timestamps_held";

  /** The default allowed lateness: none, as the pipelines' {@code --allowedLateness} default. */
  public static final Duration DEFAULT_ALLOWED_LATENESS = Duration.ZERO;

  private final WindowedAggregation feature;
  private final Duration allowedLateness;

  private RollingAggregate(WindowedAggregation feature, Duration allowedLateness) {
    this.feature = feature;
    this.allowedLateness = allowedLateness;
  }

  /** Rolls up the windows of {@code feature}, with no allowed lateness. */
  public static RollingAggregate of(WindowedAggregation feature) {
    return new RollingAggregate(requireNonNull(feature, "feature"), DEFAULT_ALLOWED_LATENESS);
  }

  /**
   * How far behind the watermark an event may arrive and still be applied: an entity's events are held until the
   * watermark passes its latest event time plus the longest window plus this.
   */
  public RollingAggregate withAllowedLateness(Duration lateness) {
    FeatureSteps.checkAllowedLateness(lateness);
    return new RollingAggregate(feature, lateness);
  }

  @Override
  public PCollectionTuple expand(PCollection<FeatureEvent> events) {
    PCollectionTuple result =
        events
            .apply("KeyByEntity", FeatureSteps.keyByEntity())
            .apply("RewindowIntoGlobalWindow", Window.<KV<String, FeatureEvent>>into(new GlobalWindows()))
            .apply(
                "Aggregate" + FeatureSteps.camelCase(feature.name()),
                ParDo.of(new RollingAggregateFn(feature.windows(), allowedLateness.getMillis()))
                    .withOutputTags(ROWS, TupleTagList.of(TOO_LATE)));
    result.get(ROWS).setCoder(EntityPartials.Coder.of());
    result.get(TOO_LATE).setCoder(FeatureEvent.Coder.of());
    return result;
  }


  /** Keeps one entity's partials by timestamp over its longest window, and emits its row on every change. */
  static final class RollingAggregateFn extends DoFn<KV<String, FeatureEvent>, EntityPartials> {
    private static final String LATEST_EVENT_TIME = "latestEventTime";
    private static final String HELD_PARTIALS = "heldPartials";
    private static final String CLEAR_HELD_EVENTS = "clearHeldEvents";

    /** The entity's latest event time L; never cleared. */
    @StateId(LATEST_EVENT_TIME)
    private final StateSpec<ValueState<Long>> latestEventTimeSpec = StateSpecs.value(VarLongCoder.of());

    /**
     * One merged partial per distinct event timestamp in {@code [L - longest, L]}, packed into one value (about 5
     * bytes per timestamp of clicks); empty once cleared.
     */
    @StateId(HELD_PARTIALS)
    private final StateSpec<ValueState<TreeMap<Long, Partial>>> heldPartialsSpec =
        StateSpecs.value(HeldPartialsCoder.of());

    /** Fires when the watermark has passed {@code L + longest + allowed lateness}. */
    @TimerId(CLEAR_HELD_EVENTS)
    private final TimerSpec clearHeldEventsSpec = TimerSpecs.timer(TimeDomain.EVENT_TIME);

    private final Counter applied = Metrics.counter(STAGE, EVENTS_APPLIED);
    private final Counter beforeLongestWindow = Metrics.counter(STAGE, EVENTS_BEFORE_LONGEST_WINDOW);
    private final Counter tooLate = Metrics.counter(STAGE, EVENTS_TOO_LATE);
    private final Distribution timestampsHeld = Metrics.distribution(STAGE, TIMESTAMPS_HELD);

    private final List<FeatureWindow> windows;
    private final long longestMillis;
    private final long allowedLatenessMillis;

    RollingAggregateFn(List<FeatureWindow> windows, long allowedLatenessMillis) {
      this.windows = new ArrayList<>(windows);
      this.longestMillis = windows.get(windows.size() - 1).lengthMillis();
      this.allowedLatenessMillis = allowedLatenessMillis;
    }

    @ProcessElement
    public void processElement(
        @Element KV<String, FeatureEvent> element,
        @Timestamp Instant elementTimestamp,
        @StateId(LATEST_EVENT_TIME) ValueState<Long> latestEventTime,
        @StateId(HELD_PARTIALS) ValueState<TreeMap<Long, Partial>> heldPartials,
        @TimerId(CLEAR_HELD_EVENTS) Timer clearHeldEvents,
        MultiOutputReceiver out) {
      FeatureEvent event = element.getValue();
      long timestamp = event.timestamp();
      Long latest = latestEventTime.read();

      if (latest != null && timestamp < latest - longestMillis) {
        // Outside the longest window as of L, and so of every later L too.
        beforeLongestWindow.inc();
        return;
      }
      TreeMap<Long, Partial> stored = heldPartials.read();
      TreeMap<Long, Partial> held = stored == null ? new TreeMap<>() : stored;
      // L is never evicted, so nothing held with a known L means the timer cleared the entity.
      boolean cleared = latest != null && held.isEmpty();
      if (cleared && timestamp - longestMillis <= latest) {
        // Its row would need events that were cleared: the watermark passed L + longest + lateness, so this event
        // is later than the allowed lateness.
        tooLate.inc();
        out.get(TOO_LATE).output(event);
        return;
      }

      long asOf = latest == null || timestamp > latest ? timestamp : latest;
      if (latest == null || asOf > latest) {
        latestEventTime.write(asOf);
        held.headMap(asOf - longestMillis, false).clear();
        clearHeldEvents.withNoOutputTimestamp().set(new Instant(clearTime(asOf)));
      }
      Partial atTimestamp = held.get(timestamp);
      Partial merged =
          atTimestamp == null ? Partial.of(timestamp, event.value()) : atTimestamp.copy().add(timestamp, event.value());
      held.put(timestamp, merged);
      heldPartials.write(held);
      applied.inc();
      timestampsHeld.update(held.size());

      EntityPartials row = new EntityPartials(element.getKey(), asOf, RollingWindows.aggregate(windows, held, asOf));
      Instant rowTimestamp = new Instant(asOf);
      out.get(ROWS).outputWithTimestamp(
          row, rowTimestamp.isBefore(elementTimestamp) ? elementTimestamp : rowTimestamp);
    }

    /** The held events can no longer change any row the allowed lateness lets through. */
    @OnTimer(CLEAR_HELD_EVENTS)
    public void onClearHeldEvents(@StateId(HELD_PARTIALS) ValueState<TreeMap<Long, Partial>> heldPartials) {
      heldPartials.clear();
    }

    /**
     * The first millisecond after {@code L + longest + allowed lateness}, so an event exactly the allowed lateness
     * behind the watermark is still applied; at most the end of the global window.
     */
    private long clearTime(long latest) {
      long end = GlobalWindow.INSTANCE.maxTimestamp().getMillis();
      long margin = longestMillis + allowedLatenessMillis + 1;
      return latest > end - margin ? end : latest + margin;
    }
  }
}
