package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.Aggregation;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.transforms.TumblingFeaturesCombineFn.EventFields;
import dev.clickstream.transforms.TumblingFeaturesCombineFn.EventFieldsCoder;
import dev.clickstream.transforms.TumblingFeaturesCombineFn.ValuesCoder;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.AfterPane;
import org.apache.beam.sdk.transforms.windowing.AfterProcessingTime;
import org.apache.beam.sdk.transforms.windowing.AfterWatermark;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.transforms.windowing.SlidingWindows;
import org.apache.beam.sdk.transforms.windowing.Trigger;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.transforms.windowing.WindowFn;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Computes any {@link TumblingAggregation}: per entity and tumbling event-time window aligned to the epoch, one
 * {@link Row} holding the feature's values in {@link TumblingAggregation#featureColumns()} order.
 *
 * <pre>{@code
 * PCollection<TumblingFeatures.Row> rows =
 *     enriched.apply("ComputeUserActivity",
 *         TumblingFeatures.of(FeatureDefinitions.USER_ACTIVITY_5MIN, EnrichedClickEvent.class)
 *             .withAllowedLateness(Duration.standardMinutes(10)));
 * rows.apply("WriteOnlineStore",
 *     WriteToOnlineStore.into(USER_ACTIVITY_5MIN.table(), row -> row.tableRow(USER_ACTIVITY_5MIN, clock.nowMillis()))
 *         .withJdbcUrl(url));
 * }</pre>
 *
 * <p><b>Input.</b> Avro records, bounded or not, whose element timestamp is their event time (see {@link
 * AssignEventTime}). Fields are read by name ({@link GenericRecord#get(String)}); every field the feature reads
 * must be in the events' schema, and a percentile's field must be numeric, which {@link #of} checks when the graph
 * is built. An event whose entity field is null or empty is skipped and counted. So is an event that no
 * aggregation reads (it matches no count's condition and has none of the distinct-count and percentile fields):
 * a window holding only such events has no row.
 *
 * <p><b>Values.</b> Counts and distinct counts are exact. Distinct values are compared as text, and the combine
 * holds those of one entity-window in memory. A percentile reads only finite values: NaN and infinities count as
 * missing, as nulls do, so every row fits its table by construction. Percentiles come from Beam's {@code ApproximateQuantiles} sketch over
 * 101 quantiles: while a window holds at most 40,046 values (20 buffers of 1,907 and 1,906 more, the sketch's layout
 * for up to 10^9 values at its default accuracy) the sketch keeps them all, and the {@code p}-th percentile is the
 * nearest-rank one, the value at rank {@code ceil(p/100 · n)} of the {@code n} sorted values (1-based: p50 of 1, 2,
 * 3, 4 is 2, p90 of 1 to 10 is 9, p100 the maximum). Beyond that, its rank is within {@code n/101} of that one, as
 * Beam guarantees for up to 10^9 values. A moving average over {@code N} windows is the sum of its count over this
 * window and the {@code N - 1} before it, divided by {@code N}: a window without events counts as 0.
 *
 * <p><b>Windows.</b> Without moving averages, events go into tumbling windows of the feature's length. With moving
 * averages spanning at most {@code N} windows, into sliding windows of {@code N} lengths, one every length, also
 * aligned to the epoch: a step that sees each event in each of its windows tags whether it lies in the window's
 * latest length, the tumbling window that ends with it. One accumulator then computes the counts, distinct counts,
 * percentiles and ratios from that latest part, and the moving averages from all parts, so the result does not
 * depend on the order events arrive in. A window whose latest part has no event gives no row. Each event is in
 * {@code N} windows, so the combine does up to {@code N} times the work. A stream instead keeps one accumulator per
 * tumbling window in keyed state, and a row reads those of its {@code N} windows (see Volume): the same values.
 * Either way the rows are output in the tumbling windows they describe, timestamped at its last millisecond.
 *
 * <p><b>Panes.</b> As in {@link TumblingWindowAggregate}: a window fires when the watermark passes its end (on
 * time), optionally early every {@link #withEarlyFiringsEvery} of processing time, and once more for each late
 * event within {@link #withAllowedLateness} (late panes). Panes accumulate, so each row holds the whole window so
 * far, and its counts and distinct counts never decrease from one pane to the next, which is how {@link
 * TumblingAggregation#table()} orders them. With moving averages over sliding windows a pane's index counts the
 * firings of its sliding window, and a firing whose latest part has no event gives no row, so indexes may skip; in
 * keyed state it counts the row's panes. Events later than the allowed lateness are dropped and counted in {@code
 * droppedDueToLateness}, by the runner or by {@link CombinePerKeyInKeyedState}.
 *
 * <p><b>Volume.</b> Each event is reduced to the fields its feature reads before windowing. Without moving averages
 * the windows are {@link TumblingWindowAggregate}'s: a stream combined in keyed state, bounded input of a batch run
 * in hashed shards ({@link CombinePerKeyInShards}), which a sorting batch runner groups far faster. With them, a
 * stream is combined in keyed state too ({@link CombinePerKeyInKeyedState}), each tumbling window's accumulator
 * held once and read by the rows that span it, so an event is added once, not once per window it lies in; bounded
 * input of a batch run and early firings take the sliding windows and {@code Combine.perKey}.
 *
 * <p><b>Metrics</b>, in the namespace {@value #NAMESPACE}, each prefixed by the feature's name ({@code
 * user_activity_5min_events_in}): {@code events_in}, {@code events_without_entity}, {@code events_not_aggregated}
 * and {@code rows_out} (one per pane with a row).
 */
public final class TumblingFeatures<T extends GenericRecord>
    extends PTransform<PCollection<T>, PCollection<TumblingFeatures.Row>> {
  static final String NAMESPACE = "TumblingFeatures";
  static final String EVENTS_IN = "events_in";
  static final String EVENTS_WITHOUT_ENTITY = "events_without_entity";
  static final String EVENTS_NOT_AGGREGATED = "events_not_aggregated";
  static final String ROWS_OUT = "rows_out";

  private static final Set<Schema.Type> NUMERIC =
      EnumSet.of(Schema.Type.INT, Schema.Type.LONG, Schema.Type.FLOAT, Schema.Type.DOUBLE);

  private final TumblingAggregation feature;
  private final Duration allowedLateness;
  private final Duration earlyFiringDelay;

  private TumblingFeatures(TumblingAggregation feature, Duration allowedLateness, Duration earlyFiringDelay) {
    this.feature = feature;
    this.allowedLateness = allowedLateness;
    this.earlyFiringDelay = earlyFiringDelay;
  }

  /**
   * {@code feature} over events of {@code eventClass}, a generated Avro class such as {@code EnrichedClickEvent},
   * with no allowed lateness and no early firings.
   *
   * @throws IllegalArgumentException when the events lack a field the feature reads, or a percentile reads a field
   *     that is not numeric
   */
  public static <T extends GenericRecord> TumblingFeatures<T> of(TumblingAggregation feature, Class<T> eventClass) {
    requireNonNull(feature, "feature");
    Schema schema = FeatureSteps.eventSchema(NAMESPACE, feature.name(), requireNonNull(eventClass, "eventClass"));
    checkFields(feature, schema, eventClass.getSimpleName());
    return new TumblingFeatures<>(feature, Duration.ZERO, null);
  }

  /** How long after a window's end late events still update it, in late panes. */
  public TumblingFeatures<T> withAllowedLateness(Duration lateness) {
    return new TumblingFeatures<>(feature, FeatureSteps.checkAllowedLateness(lateness), earlyFiringDelay);
  }

  /**
   * Also fire speculative (early) panes, {@code delay} of processing time after the first event of a pane, so a
   * window's running values are visible before it closes.
   */
  public TumblingFeatures<T> withEarlyFiringsEvery(Duration delay) {
    if (delay == null || !delay.isLongerThan(Duration.ZERO)) {
      throw new IllegalArgumentException("earlyFiringDelay must be a positive duration, got " + delay);
    }
    return new TumblingFeatures<>(feature, allowedLateness, delay);
  }

  /** The metric {@code name} of {@code feature}, in the namespace {@value #NAMESPACE}. */
  static String metricName(TumblingAggregation feature, String name) {
    return feature.name() + "_" + name;
  }

  /**
   * The feature's values per entity and window, before they are made {@link Row}s: the window is the element's own
   * tumbling window, a value list in {@link TumblingAggregation#featureColumns()} order (empty: no row). For a
   * feature without a moving average only ({@link #valuesInOwnWindows()}), whose windows are the tumbling ones.
   */
  PTransform<PCollection<T>, PCollection<KV<String, List<Object>>>> valuesPerWindow() {
    if (!valuesInOwnWindows()) {
      throw new IllegalStateException(feature.name() + " has a moving average: its values come out of sliding windows");
    }
    return new PTransform<PCollection<T>, PCollection<KV<String, List<Object>>>>() {
      @Override
      public PCollection<KV<String, List<Object>>> expand(PCollection<T> events) {
        return combined(events, new TumblingFeaturesCombineFn(feature));
      }
    };
  }

  /** Whether the values of {@link #valuesPerWindow()} are in the feature's tumbling windows: no moving average. */
  boolean valuesInOwnWindows() {
    return new TumblingFeaturesCombineFn(feature).parts() == 1;
  }

  @Override
  public PCollection<Row> expand(PCollection<T> events) {
    TumblingFeaturesCombineFn combine = new TumblingFeaturesCombineFn(feature);
    Duration length = Duration.millis(feature.windowMillis());
    PCollection<Row> rows =
        combined(events, combine)
            .apply("FormatRows", ParDo.of(new FormatRowsFn(feature, length.getMillis())))
            .setCoder(Row.Coder.of());
    if (combine.parts() > 1) {
      // Timestamped at the end of their sliding window, which is the last millisecond of the tumbling one.
      rows = rows.apply("RewindowIntoTumblingWindows", Window.<Row>into(FixedWindows.of(length)));
    }
    return rows;
  }

  private PCollection<KV<String, List<Object>>> combined(PCollection<T> events, TumblingFeaturesCombineFn combine) {
    Duration length = Duration.millis(feature.windowMillis());
    int parts = combine.parts();
    KvCoder<String, EventFields> keyedCoder = KvCoder.of(StringUtf8Coder.of(), EventFieldsCoder.of());

    PCollection<KV<String, EventFields>> keyed =
        events.apply("ReadFeatureFields", ParDo.of(new ReadFieldsFn<T>(feature, combine))).setCoder(keyedCoder);
    if (parts == 1) {
      // The windowing, trigger and combine of every tumbling aggregation, the hashed-shard combine of bounded input
      // included (see TumblingWindowAggregate).
      TumblingWindowAggregate<String, EventFields, List<Object>> aggregate =
          TumblingWindowAggregate.<String, EventFields, List<Object>>of(combine)
              .withWindowSize(length)
              .withAllowedLateness(allowedLateness);
      return keyed.apply(
          "AggregatePerEntity", earlyFiringDelay == null ? aggregate : aggregate.withEarlyFiringsEvery(earlyFiringDelay));
    }
    if (earlyFiringDelay == null && FeatureSteps.isStream(events)) {
      // Each tumbling window's accumulator held once, read by the rows of the windows that span it.
      return keyed.apply("AggregatePerEntity",
          CombinePerKeyInKeyedState.<String, EventFields, TumblingFeaturesCombineFn.Accumulator, List<Object>>of(
                  combine, length)
              .withAllowedLateness(allowedLateness)
              .withWindowsRead(parts, (window, latestFirst) -> combine.extractOutputOverWindows(latestFirst)));
    }
    return keyed
        .apply(
            "WindowIntoSlidingWindows",
            Window.<KV<String, EventFields>>into(windowFn(length, parts))
                .triggering(trigger())
                .withAllowedLateness(allowedLateness)
                .accumulatingFiredPanes())
        .apply("TagLatestWindow", ParDo.of(new TagPartFn(length.getMillis())))
        .setCoder(keyedCoder)
        .apply("CombinePerEntity", Combine.perKey(combine));
  }

  private static WindowFn<Object, IntervalWindow> windowFn(Duration length, int parts) {
    return parts == 1 ? FixedWindows.of(length) : SlidingWindows.of(length.multipliedBy(parts)).every(length);
  }

  private Trigger trigger() {
    AfterWatermark.AfterWatermarkEarlyAndLate onTimeAndLate =
        AfterWatermark.pastEndOfWindow().withLateFirings(AfterPane.elementCountAtLeast(1));
    return earlyFiringDelay == null
        ? onTimeAndLate
        : onTimeAndLate.withEarlyFirings(AfterProcessingTime.pastFirstElementInPane().plusDelayOf(earlyFiringDelay));
  }

  /** Fails when the graph is built, not on the first event. */
  private static void checkFields(TumblingAggregation feature, Schema schema, String events) {
    FeatureSteps.checkFields(NAMESPACE, feature.name(), schema, events, feature.eventFields());
    for (Aggregation aggregation : feature.aggregations()) {
      if (aggregation.isApproxPercentile()) {
        Schema type = schema.getField(aggregation.field()).schema();
        Schema value = nonNull(type);
        if (!NUMERIC.contains(value.getType())) {
          throw new IllegalArgumentException(
              "TumblingFeatures cannot compute feature " + feature.name() + " over " + events + ": " + aggregation
                  + " needs a numeric field (int, long, float or double, or null), but " + aggregation.field()
                  + " is " + value.getType().getName() + (value == type ? "" : " or null"));
        }
      }
    }
  }

  /** The type of a field that is {@code ["null", type]}, or the field's own type. */
  private static Schema nonNull(Schema type) {
    if (type.getType() != Schema.Type.UNION) {
      return type;
    }
    List<Schema> others =
        type.getTypes().stream().filter(t -> t.getType() != Schema.Type.NULL).collect(Collectors.toList());
    return others.size() == 1 ? others.get(0) : type;
  }

  /** Keys each event by its entity, reduced to the fields the feature reads. */
  static final class ReadFieldsFn<T extends GenericRecord> extends DoFn<T, KV<String, EventFields>> {
    private static final int EVENTS_IN_COUNTED = 0;
    private static final int WITHOUT_ENTITY = 1;
    private static final int NOT_AGGREGATED = 2;
    private final String entityField;
    private final TumblingFeaturesCombineFn combine;
    private final BundleMetrics metrics;

    ReadFieldsFn(TumblingAggregation feature, TumblingFeaturesCombineFn combine) {
      this.entityField = feature.entityField();
      this.combine = combine;
      this.metrics =
          BundleMetrics.of(Metrics.counter(NAMESPACE, metricName(feature, EVENTS_IN)),
              Metrics.counter(NAMESPACE, metricName(feature, EVENTS_WITHOUT_ENTITY)),
              Metrics.counter(NAMESPACE, metricName(feature, EVENTS_NOT_AGGREGATED)));
    }

    @ProcessElement
    public void processElement(@Element T event, OutputReceiver<KV<String, EventFields>> out) {
      metrics.inc(EVENTS_IN_COUNTED);
      Object entity = event.get(entityField);
      if (entity == null || entity.toString().isEmpty()) {
        metrics.inc(WITHOUT_ENTITY);
        return;
      }
      EventFields fields = combine.read(event::get);
      if (fields == null) {
        metrics.inc(NOT_AGGREGATED);
        return;
      }
      out.output(KV.of(entity.toString(), fields));
    }

    @StartBundle
    public void startBundle() {
      metrics.reset();
    }

    @FinishBundle
    public void finishBundle() {
      metrics.flush();
    }
  }

  /** Tags each event, in each of its sliding windows, with the part of the window it lies in: 0 for the latest. */
  static final class TagPartFn extends DoFn<KV<String, EventFields>, KV<String, EventFields>> {
    private final long lengthMillis;

    TagPartFn(long lengthMillis) {
      this.lengthMillis = lengthMillis;
    }

    @ProcessElement
    public void processElement(
        @Element KV<String, EventFields> event,
        @Timestamp Instant timestamp,
        IntervalWindow window,
        OutputReceiver<KV<String, EventFields>> out) {
      int part = (int) ((window.maxTimestamp().getMillis() - timestamp.getMillis()) / lengthMillis);
      out.output(KV.of(event.getKey(), event.getValue().inPart(part)));
    }
  }

  /** Attaches the tumbling window and the pane to each entity's values, skipping windows without a row. */
  static final class FormatRowsFn extends DoFn<KV<String, List<Object>>, Row> {
    private final long lengthMillis;
    private final BundleMetrics metrics;

    FormatRowsFn(TumblingAggregation feature, long lengthMillis) {
      this.lengthMillis = lengthMillis;
      this.metrics = BundleMetrics.of(Metrics.counter(NAMESPACE, metricName(feature, ROWS_OUT)));
    }

    @ProcessElement
    public void processElement(
        @Element KV<String, List<Object>> values, IntervalWindow window, PaneInfo pane, OutputReceiver<Row> out) {
      if (values.getValue().isEmpty()) {
        return;
      }
      long end = window.end().getMillis();
      metrics.inc(0);
      out.output(
          new Row(values.getKey(), end - lengthMillis, end, values.getValue(), FeatureSteps.timing(pane),
              pane.getIndex()));
    }

    @StartBundle
    public void startBundle() {
      metrics.reset();
    }

    @FinishBundle
    public void finishBundle() {
      metrics.flush();
    }
  }

  /**
   * One entity's values over one tumbling window {@code [windowStart, windowEnd)}, as of one pane: the feature's
   * values in {@link TumblingAggregation#featureColumns()} order (a Long for each count and distinct count, a
   * Double or null for the others), and the pane's timing and index. Immutable.
   */
  public static final class Row {
    private final String entity;
    private final long windowStart;
    private final long windowEnd;
    private final List<Object> values;
    private final PaneInfo.Timing paneTiming;
    private final long paneIndex;

    public Row(
        String entity, long windowStart, long windowEnd, List<Object> values, PaneInfo.Timing paneTiming,
        long paneIndex) {
      this.entity = requireNonNull(entity, "entity");
      this.windowStart = windowStart;
      this.windowEnd = windowEnd;
      this.values = Collections.unmodifiableList(new ArrayList<>(values));
      this.paneTiming = requireNonNull(paneTiming, "paneTiming");
      this.paneIndex = paneIndex;
    }

    public String entity() {
      return entity;
    }

    /** The window's first millisecond, epoch milliseconds. */
    public long windowStart() {
      return windowStart;
    }

    /** The window's end, exclusive. */
    public long windowEnd() {
      return windowEnd;
    }

    /** The feature's values, in column order. */
    public List<Object> values() {
      return values;
    }

    /** The value of {@code feature}'s column {@code column}; this row must be one of {@code feature}'s. */
    public Object value(TumblingAggregation feature, String column) {
      int index = feature.featureColumns().indexOf(column);
      if (index < 0) {
        throw new IllegalArgumentException(
            "feature " + feature.name() + " has no column " + column + ": it has " + feature.featureColumns());
      }
      return values.get(index);
    }

    /** EARLY, ON_TIME or LATE: which firing of the window produced the row. */
    public PaneInfo.Timing paneTiming() {
      return paneTiming;
    }

    /** 0 for the window's first firing, then 1, 2, ... */
    public long paneIndex() {
      return paneIndex;
    }

    /** This row in {@code feature.table()}'s column order, for {@link WriteToOnlineStore}. */
    public Object[] tableRow(TumblingAggregation feature, long updatedAt) {
      return feature.tableRow(entity, windowStart, windowEnd, values, updatedAt);
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof Row)) {
        return false;
      }
      Row that = (Row) o;
      return entity.equals(that.entity) && windowStart == that.windowStart && windowEnd == that.windowEnd
          && values.equals(that.values) && paneTiming == that.paneTiming && paneIndex == that.paneIndex;
    }

    @Override
    public int hashCode() {
      return Objects.hash(entity, windowStart, windowEnd, values, paneTiming, paneIndex);
    }

    @Override
    public String toString() {
      return entity + " [" + new Instant(windowStart) + ", " + new Instant(windowEnd) + ") " + values + " "
          + paneTiming + "#" + paneIndex;
    }

    /** The entity, the window bounds and pane index as varints, the values, and the timing as one byte. */
    public static final class Coder extends AtomicCoder<Row> {
      private static final Coder INSTANCE = new Coder();
      private static final PaneInfo.Timing[] TIMINGS = PaneInfo.Timing.values();

      public static Coder of() {
        return INSTANCE;
      }

      @Override
      public void encode(Row row, OutputStream out) throws IOException {
        StringUtf8Coder.of().encode(row.entity, out);
        VarLongCoder.of().encode(row.windowStart, out);
        VarLongCoder.of().encode(row.windowEnd, out);
        ValuesCoder.of().encode(row.values, out);
        out.write(row.paneTiming.ordinal());
        VarLongCoder.of().encode(row.paneIndex, out);
      }

      @Override
      public Row decode(InputStream in) throws IOException {
        String entity = StringUtf8Coder.of().decode(in);
        long start = VarLongCoder.of().decode(in);
        long end = VarLongCoder.of().decode(in);
        List<Object> values = ValuesCoder.of().decode(in);
        int timing = in.read();
        if (timing < 0 || timing >= TIMINGS.length) {
          throw new IOException("unknown pane timing " + timing + ": the bytes are not a TumblingFeatures.Row's");
        }
        return new Row(entity, start, end, values, TIMINGS[timing], VarLongCoder.of().decode(in));
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
