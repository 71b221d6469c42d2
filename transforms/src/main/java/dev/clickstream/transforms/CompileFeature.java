package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.features.ClickAttribution;
import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.DriftRecord;
import dev.clickstream.features.FeatureDefinition;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.FeatureWindow;
import dev.clickstream.features.SessionAggregation;
import dev.clickstream.features.SlidingAggregation;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.coders.DoubleCoder;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TupleTag;
import org.joda.time.Duration;

/**
 * The feature compiler: turns each kind of {@link FeatureDefinition} into its generic transform, driven only by
 * the fields and columns the definition names. Every compiled transform outputs a {@link PCollectionTuple}: the
 * {@link FeatureRows} of each table it writes under {@link #rowsOf}, and under {@link #DEAD_LETTERS} the rows that
 * could not be computed and the events that came too late, when it can make any (a tumbling aggregation cannot).
 *
 * <pre>{@code
 * CompileFeature compiler = CompileFeature.withClock(ProcessingClock.SYSTEM).withAllowedLateness(lateness);
 * PCollectionTuple ctr = events.apply("ctr_5min", compiler.tumbling(FeatureDefinitions.CTR_5MIN, ClickEvent.class));
 * PCollection<Row> rows = ctr.get(CompileFeature.rowsOf(FeatureTables.CTR_5MIN));
 * PCollectionTuple drift = rows.apply("ctr_5min.ctr", compiler.drift(FeatureDefinitions.CTR_DRIFT));
 * }</pre>
 *
 * <p>Kinds and their transforms:
 *
 * <ul>
 *   <li>TUMBLING ({@link #tumbling}): {@link TumblingFeatures}; like SESSION and ATTRIBUTION, over any generated
 *       Avro event class that holds its fields ({@code ClickEvent}, {@code EnrichedClickEvent}). Its rows are
 *       valid by construction ({@link FeatureRows#validByConstruction}), so they make no dead letters.
 *   <li>ROLLING ({@link #rolling}), over the feature's {@link SelectFeatureEvents}: {@link RollingAggregate} into
 *       the pre-computed table, every event into the raw-events table (on-demand reads), {@link TileAggregate} into
 *       the tiles table (tiled reads); any subset of the three.
 *   <li>SLIDING ({@link #sliding}): {@link SlidingWindowCount}, sizes and period from the definition.
 *   <li>SESSION ({@link #session}): {@link SessionFeatures}; ATTRIBUTION ({@link #attribution}): {@link
 *       AttributeClicks}.
 *   <li>DRIFT ({@link #drift}), over the watched feature's rows: {@link DetectDrift} of the watched column, one value
 *       per entity-window by its on-time pane (a late pane would count the entity again), nulls left out.
 * </ul>
 *
 * <p>Why: a feature is declared once, and this is the one place a declaration becomes a stream; a new feature of an
 * existing kind needs no code. {@code updated_at} is stamped from the {@link ProcessingClock} when a row is made.
 */
public final class CompileFeature {
  /** Rows that could not be computed and events too late to apply, in the global window. */
  public static final TupleTag<DeadLetter> DEAD_LETTERS = new TupleTag<DeadLetter>("dead_letters") {};

  private final ProcessingClock clock;
  private final Duration allowedLateness;

  private CompileFeature(ProcessingClock clock, Duration allowedLateness) {
    this.clock = clock;
    this.allowedLateness = allowedLateness;
  }

  /** A compiler whose rows are stamped by {@code clock}, with no allowed lateness. */
  public static CompileFeature withClock(ProcessingClock clock) {
    return new CompileFeature(requireNonNull(clock, "clock"), Duration.ZERO);
  }

  /** How far behind the watermark an event may arrive and still update every compiled feature. */
  public CompileFeature withAllowedLateness(Duration lateness) {
    return new CompileFeature(clock, FeatureSteps.checkAllowedLateness(lateness));
  }

  /** The tag of {@code table}'s rows in a compiled transform's output. */
  public static TupleTag<Row> rowsOf(FeatureTable table) {
    return new TupleTag<>(table.name());
  }

  /** A tumbling aggregation over events of {@code eventClass}, which must hold every field it reads. */
  public <T extends GenericRecord> PTransform<PCollection<T>, PCollectionTuple> tumbling(
      TumblingAggregation feature, Class<T> eventClass) {
    TumblingFeatures<T> aggregate = TumblingFeatures.of(feature, eventClass).withAllowedLateness(allowedLateness);
    ProcessingClock clock = this.clock;
    if (aggregate.valuesInOwnWindows()) {
      // Rows made straight from each window's values: one step fewer per window than TumblingFeatures' own rows.
      return compiled(events -> Outputs.of(feature.table(),
          events.apply("TumblingFeatures", aggregate.valuesPerWindow())
              .apply("ToRows", FeatureRows.ofWindowed(feature.table(),
                  (KV<String, List<Object>> values, BoundedWindow window, PaneInfo pane) ->
                      values.getValue().isEmpty()
                          ? null
                          : feature.tableRow(values.getKey(), ((IntervalWindow) window).start().getMillis(),
                              ((IntervalWindow) window).end().getMillis(), values.getValue(), clock.nowMillis()))
                  .validByConstruction())));
    }
    return compiled(events -> {
      PCollection<TumblingFeatures.Row> windows = events.apply("TumblingFeatures", aggregate);
      return Outputs.of(feature.table(),
          windows.apply("ToRows", FeatureRows.of(feature.table(),
              (TumblingFeatures.Row row) -> row.tableRow(feature, clock.nowMillis())).validByConstruction()));
    });
  }

  /**
   * The tables of {@code feature} named in {@code tables} ({@link WindowedAggregation#tables()}), over its selected
   * events ({@link SelectFeatureEvents}), which all three share.
   */
  public PTransform<PCollection<FeatureEvent>, PCollectionTuple> rolling(
      WindowedAggregation feature, Collection<FeatureTable> tables) {
    if (tables.isEmpty()) {
      throw new IllegalArgumentException("rolling feature " + feature.name() + ": name at least one of its tables");
    }
    for (FeatureTable table : tables) {
      if (!feature.tables().contains(table)) {
        throw new IllegalArgumentException(
            "rolling feature " + feature.name() + " writes " + feature.tables() + ", not " + table.name());
      }
    }
    ProcessingClock clock = this.clock;
    Duration lateness = allowedLateness;
    return compiled(events -> {
      Outputs outputs = new Outputs();
      FeatureTable precomputed = feature.precomputedTable();
      if (tables.contains(precomputed)) {
        PCollectionTuple counted =
            events.apply("RollingAggregate", RollingAggregate.of(feature).withAllowedLateness(lateness));
        outputs.add(precomputed, counted.get(RollingAggregate.ROWS).apply("ToRows", FeatureRows.of(precomputed,
            (EntityPartials row) -> feature.precomputedRow(row.entity(), row.time(), row.partials(), clock.nowMillis()))));
        outputs.add(counted.get(RollingAggregate.TOO_LATE)
            .apply("TooLateToDeadLetters", TooLateEvents.toDeadLetters("RollingAggregate", lateness)));
      }
      FeatureTable rawEvents = feature.rawEventsTable();
      if (rawEvents != null && tables.contains(rawEvents)) {
        outputs.add(rawEvents, events.apply("ToRawEventRows", FeatureRows.of(rawEvents,
            (FeatureEvent event) -> feature.rawEventRow(event.eventId(), event.entity(), event.timestamp(), event.value()))));
      }
      FeatureTable tiles = feature.tilesTable();
      if (tiles != null && tables.contains(tiles)) {
        outputs.add(tiles, events
            .apply("TileAggregate", TileAggregate.of(feature).withAllowedLateness(lateness))
            .apply("ToTileRows", FeatureRows.of(tiles,
                (EntityPartials tile) -> feature.tileRow(tile.entity(), tile.time(), tile.partials()[0], clock.nowMillis()))));
      }
      return outputs;
    });
  }

  /** Counts over hopping windows: the windows and period of {@code feature}, each count into its column. */
  public PTransform<PCollection<FeatureEvent>, PCollectionTuple> sliding(SlidingAggregation feature) {
    List<Duration> sizes = new ArrayList<>();
    for (FeatureWindow window : feature.windows()) {
      sizes.add(Duration.millis(window.lengthMillis()));
    }
    SlidingWindowCount count =
        SlidingWindowCount.of(Duration.millis(feature.period().lengthMillis()), sizes)
            .withAllowedLateness(allowedLateness);
    ProcessingClock clock = this.clock;
    // Beam drops events later than the allowed lateness from hopping windows, counted in droppedDueToLateness.
    return compiled(events -> Outputs.of(feature.table(),
        events.apply("SlidingWindowCount", count)
            .apply("ToRows", FeatureRows.of(feature.table(),
                (SlidingWindowCount.Counts counts) -> slidingRow(feature, counts, clock.nowMillis())))));
  }

  /** A row of {@code feature}'s table, placed by column name. */
  private static Object[] slidingRow(SlidingAggregation feature, SlidingWindowCount.Counts counts, long updatedAt) {
    Map<String, Object> byColumn = new HashMap<>();
    byColumn.put(feature.entityField(), counts.entity());
    byColumn.put(SlidingAggregation.WINDOW_END, counts.windowEnd());
    for (int i = 0; i < counts.counts().length; i++) {
      byColumn.put(feature.featureColumns().get(i), counts.counts()[i]);
    }
    byColumn.put(WindowedAggregation.UPDATED_AT, updatedAt);
    return feature.table().columnNames().stream().map(byColumn::get).toArray();
  }

  /** Per entity, its latest session, over events of {@code eventClass}. */
  public <T extends GenericRecord> PTransform<PCollection<T>, PCollectionTuple> session(
      SessionAggregation feature, Class<T> eventClass) {
    SessionFeatures<T> sessions = SessionFeatures.of(feature, eventClass).withAllowedLateness(allowedLateness);
    ProcessingClock clock = this.clock;
    return stateful(feature.table(), "SessionFeatures", sessions,
        SessionFeatures.SESSIONS, (KV<String, SessionFeatures.SessionStats> session) ->
            feature.row(session.getKey(), session.getValue().start(), session.getValue().end(),
                session.getValue().events(), session.getValue().clicks(), clock.nowMillis()),
        sessions.tooLate(), TooLateEvents.<T>eventsToDeadLetters("SessionFeatures", allowedLateness));
  }

  /** Clicks attributed to earlier impressions, per entity and window, over events of {@code eventClass}. */
  public <T extends GenericRecord> PTransform<PCollection<T>, PCollectionTuple> attribution(
      ClickAttribution feature, Class<T> eventClass) {
    AttributeClicks<T> attribute = AttributeClicks.of(feature, eventClass).withAllowedLateness(allowedLateness);
    ProcessingClock clock = this.clock;
    return stateful(feature.table(), "AttributeClicks", attribute,
        AttributeClicks.COUNTS, (AttributeClicks.ItemWindow window) ->
            feature.row(window.item(), window.windowStart(), window.windowEnd(), window.counts().impressions(),
                window.counts().clicks(), window.counts().attributedClicks(),
                window.counts().sumTimeToClickMillis(), clock.nowMillis()),
        AttributeClicks.TOO_LATE_CLICKS, TooLateEvents.rowsToDeadLetters("AttributeClicks", allowedLateness));
  }

  /**
   * A feature kept in keyed state by {@code transform} (named {@code step}): its {@code computedTag} output made
   * rows of {@code table}, and its too-late input ({@code tooLateTag}) made dead letters.
   */
  private static <T, ComputedT, LateT> PTransform<PCollection<T>, PCollectionTuple> stateful(
      FeatureTable table,
      String step,
      PTransform<PCollection<T>, PCollectionTuple> transform,
      TupleTag<ComputedT> computedTag,
      SerializableFunction<ComputedT, Object[]> toRow,
      TupleTag<LateT> tooLateTag,
      PTransform<PCollection<LateT>, PCollection<DeadLetter>> tooLateToDeadLetters) {
    return compiled(events -> {
      PCollectionTuple computed = events.apply(step, transform);
      return Outputs.of(table, computed.get(computedTag).apply("ToRows", FeatureRows.of(table, toRow)))
          .add(computed.get(tooLateTag).apply("TooLateToDeadLetters", tooLateToDeadLetters));
    });
  }

  /**
   * The drift of {@code monitor}'s column, over the rows of the view it watches as they leave that feature's
   * windows (no grouping in between, so each row still carries its pane).
   */
  public PTransform<PCollection<Row>, PCollectionTuple> drift(DriftMonitor monitor) {
    DetectDrift detect = DetectDrift.of(monitor).withAllowedLateness(allowedLateness);
    ProcessingClock clock = this.clock;
    return compiled(rows -> Outputs.of(monitor.table(),
        rows.apply("OnTimeValues", ParDo.of(new OnTimeValuesFn(monitor.column())))
            .setCoder(DoubleCoder.of())
            .apply("DetectDrift", detect)
            .apply("ToRows", FeatureRows.of(monitor.table(), (DriftRecord record) -> monitor.row(record, clock.nowMillis())))));
  }

  /** The column's value of each on-time row that has one. */
  private static final class OnTimeValuesFn extends DoFn<Row, Double> {
    private final String column;

    OnTimeValuesFn(String column) {
      this.column = column;
    }

    @ProcessElement
    public void processElement(@Element Row row, PaneInfo pane, OutputReceiver<Double> out) {
      Object value = row.getValue(column);
      if (value != null && FeatureSteps.timing(pane) == PaneInfo.Timing.ON_TIME) {
        out.output(((Number) value).doubleValue());
      }
    }
  }

  /** Rows per table and dead letters, as a compiled transform gathers them. */
  private static final class Outputs {
    private final Map<FeatureTable, PCollection<Row>> rows = new java.util.LinkedHashMap<>();
    private final List<PCollection<DeadLetter>> deadLetters = new ArrayList<>();

    static Outputs of(FeatureTable table, PCollectionTuple computed) {
      Outputs outputs = new Outputs();
      outputs.add(table, computed);
      return outputs;
    }

    Outputs add(FeatureTable table, PCollectionTuple computed) {
      rows.put(table, computed.get(FeatureRows.ROWS));
      if (computed.has(FeatureRows.FAILURES)) {
        deadLetters.add(computed.get(FeatureRows.FAILURES));
      }
      return this;
    }

    Outputs add(PCollection<DeadLetter> more) {
      deadLetters.add(more);
      return this;
    }

    PCollectionTuple toTuple() {
      PCollectionTuple tuple = null;
      for (Map.Entry<FeatureTable, PCollection<Row>> table : rows.entrySet()) {
        tuple = tuple == null
            ? PCollectionTuple.of(rowsOf(table.getKey()), table.getValue())
            : tuple.and(rowsOf(table.getKey()), table.getValue());
      }
      // None for a feature whose rows are valid by construction: Flink's batch runner cannot flatten an empty list
      // with other dead letters (it makes it a dataset of another type).
      if (!deadLetters.isEmpty()) {
        tuple = tuple.and(DEAD_LETTERS,
            PCollectionList.of(deadLetters).apply("FeatureDeadLetters", Flatten.pCollections()));
      }
      return tuple;
    }
  }

  private static <InputT> PTransform<PCollection<InputT>, PCollectionTuple> compiled(
      SerializableSteps<InputT> steps) {
    return new PTransform<PCollection<InputT>, PCollectionTuple>() {
      @Override
      public PCollectionTuple expand(PCollection<InputT> input) {
        return steps.apply(input).toTuple();
      }
    };
  }

  /** The steps of one compiled feature; kept by the transform, which Beam may serialize. */
  private interface SerializableSteps<InputT> extends Function<PCollection<InputT>, Outputs>, java.io.Serializable {}
}
