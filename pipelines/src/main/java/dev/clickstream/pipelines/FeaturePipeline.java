package dev.clickstream.pipelines;

import dev.clickstream.features.ClickAttribution;
import dev.clickstream.features.Dimension;
import dev.clickstream.features.DimensionDefinitions;
import dev.clickstream.features.DriftMonitor;
import dev.clickstream.features.FeatureDefinition;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureRegistry;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.SessionAggregation;
import dev.clickstream.features.SlidingAggregation;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.schemas.EnrichedClickEvent;
import dev.clickstream.transforms.CompileFeature;
import dev.clickstream.transforms.CountDeadLetters;
import dev.clickstream.transforms.DimensionSnapshots;
import dev.clickstream.transforms.EnrichWithDimensions;
import dev.clickstream.transforms.FeatureEvent;
import dev.clickstream.transforms.ParseEvents;
import dev.clickstream.transforms.ProcessingClock;
import dev.clickstream.transforms.SelectFeatureEvents;
import dev.clickstream.transforms.SnapshotSource;
import dev.clickstream.transforms.WriteOfflineEvents;
import dev.clickstream.transforms.WriteOfflineFiles;
import dev.clickstream.transforms.WriteToOnlineStore;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.Row;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * The one job of the project: any selection of a {@link FeatureRegistry} ({@link FeatureSelection}), each feature
 * compiled from its declaration ({@link CompileFeature}) and written alike.
 *
 * <pre>{@code
 * FeaturePipelineOptions options =
 *     PipelineOptionsFactory.fromArgs("--features=ctr_5min,user_sessions", "--input=events.jsonl")
 *         .as(FeaturePipelineOptions.class);
 * FeaturePipeline.Outputs outputs = FeaturePipeline.build(pipeline, options, ProcessingClock.SYSTEM);
 * }</pre>
 *
 * <p>Steps:
 *
 * <ol>
 *   <li>ReadEvents, ParseEvents, AssignEventTime ({@link EventInput}): once, for every feature; bad records to the
 *       dead letters with their reason.
 *   <li>EnrichWithDimensions: once, when a selected feature reads a field {@code ClickEvent} lacks; the users and
 *       items tables ({@code --dimensions}) loaded once for a bounded run, refreshed every {@code
 *       --dimensionRefresh} for an unbounded one.
 *   <li>Select_FEATURE: the events of a rolling feature, once, shared by its pre-computed counts, raw events, tiles
 *       and hopping-window counts.
 *   <li>FEATURE: the feature's compiled transform, one Beam {@link Row} per table row; a drift monitor over the rows
 *       of the view it watches.
 *   <li>WriteOfflineEvents: the parsed events, to Parquet files under {@code --offlineStore/events/date=YYYY-MM-DD/}
 *       ({@link WriteOfflineEvents}): the history a backfill or a training set's on-demand view reads.
 *   <li>WriteOnlineStore_TABLE: upserted into the online store ({@link WriteToOnlineStore}; raw events and tiles
 *       expire by event time), unless {@code --writeOnlineStore=false}; WriteOfflineStore_TABLE: appended to Parquet
 *       files under {@code --offlineStore/TABLE/date=YYYY-MM-DD/} ({@link WriteOfflineFiles}), every table but raw
 *       events, whose history is the offline events.
 *   <li>WriteDeadLetters: every dead letter (bad records, rows that could not be computed or that the store refused,
 *       events too late), to the dead-letter file, or topic for Kafka.
 * </ol>
 *
 * <p>Why one job: the input is read and parsed once whatever runs, and a feature is added by declaring it in the
 * registry, with no pipeline code. Flink's CLI runs it through {@link #main} ({@code flink run -c
 * dev.clickstream.pipelines.FeaturePipeline app.jar --features=ctr ...}).
 */
public final class FeaturePipeline {

  /** The graph's outputs, for tests and summaries. */
  public static final class Outputs {
    private final Map<String, PCollection<Row>> rows;
    public final PCollection<DeadLetter> deadLetters;

    Outputs(Map<String, PCollection<Row>> rows, PCollection<DeadLetter> deadLetters) {
      this.rows = rows;
      this.deadLetters = deadLetters;
    }

    /** The rows written to {@code table}; fails when the job does not write it. */
    public PCollection<Row> rows(FeatureTable table) {
      PCollection<Row> written = rows.get(table.name());
      if (written == null) {
        throw new IllegalArgumentException("the job writes " + rows.keySet() + ", not " + table.name());
      }
      return written;
    }
  }

  private FeaturePipeline() {}

  public static void main(String[] args) {
    FeaturePipelineOptions options =
        PipelineOptionsFactory.fromArgs(args).withValidation().as(FeaturePipelineOptions.class);
    run(options);
  }

  /** Runs the job as {@link PipelineMain} does: to the end, unless Flink's CLI submits it detached. */
  public static PipelineResult run(FeaturePipelineOptions options) {
    Pipeline pipeline = Pipeline.create(options);
    build(pipeline, options, ProcessingClock.SYSTEM);
    return PipelineMain.run(pipeline);
  }

  /** The selection {@code --features} and {@code --counter} make of {@code registry}. */
  public static FeatureSelection selection(FeatureRegistry registry, FeaturePipelineOptions options) {
    return FeatureSelection.of(registry, options.getFeatures(), options.getCounter());
  }

  /** Adds the job of {@code --features} over {@link FeatureDefinitions#REGISTRY} to {@code pipeline}. */
  public static Outputs build(Pipeline pipeline, FeaturePipelineOptions options, ProcessingClock clock) {
    return build(pipeline, options, clock, selection(FeatureDefinitions.REGISTRY, options));
  }

  /**
   * Adds the job of {@code --features} and {@code --counter} over {@code registry} to {@code pipeline}: how a
   * feature that is not in the project's registry runs.
   */
  public static Outputs build(
      Pipeline pipeline, FeaturePipelineOptions options, ProcessingClock clock, FeatureRegistry registry) {
    return build(pipeline, options, clock, selection(registry, options));
  }

  /** Adds the job of {@code selection} to {@code pipeline}: read, parse, compute, write, dead letters. */
  public static Outputs build(
      Pipeline pipeline, FeaturePipelineOptions options, ProcessingClock clock, FeatureSelection selection) {
    PCollectionTuple parsed = EventInput.readAndParse(pipeline, options, selection.name());
    PCollection<ClickEvent> events = EventInput.stamped(parsed, options);
    // The input's history, from which any feature can be recomputed (backfill) or answered as of any time.
    events.apply("WriteOfflineEvents", WriteOfflineEvents.to(options.getOfflineStore()));
    Outputs outputs = buildFrom(events, options, clock, selection);
    PCollection<DeadLetter> deadLetters =
        PCollectionList.of(parsed.get(ParseEvents.DEAD_LETTERS))
            .and(outputs.deadLetters)
            .apply("AllDeadLetters", Flatten.pCollections())
            .apply("CountDeadLetters", CountDeadLetters.byReason());
    EventInput.writeDeadLetters(deadLetters, options, selection.name());
    return new Outputs(outputs.rows, deadLetters);
  }

  /**
   * The features of {@code selection} over parsed events stamped with their event time, written to the online and
   * offline stores; the returned dead letters are those the features made, for the caller to write with its
   * others.
   */
  public static Outputs buildFrom(
      PCollection<ClickEvent> events, FeaturePipelineOptions options, ProcessingClock clock,
      FeatureSelection selection) {
    return new Job(events, options, clock).build(selection);
  }

  /** One job's shared inputs: the events, their enrichment and each rolling feature's selection, each made once. */
  private static final class Job {
    private final PCollection<ClickEvent> events;
    private final FeaturePipelineOptions options;
    private final CompileFeature compiler;
    private final boolean restate;
    private final Map<String, PCollection<FeatureEvent>> selectedEvents = new HashMap<>();
    private final Map<String, PCollection<Row>> rows = new LinkedHashMap<>();
    private PCollectionList<DeadLetter> deadLetters;
    private PCollection<EnrichedClickEvent> enriched;

    Job(PCollection<ClickEvent> events, FeaturePipelineOptions options, ProcessingClock clock) {
      this.events = events;
      this.options = options;
      this.compiler =
          CompileFeature.withClock(clock)
              .withAllowedLateness(options.getAllowedLateness().toDuration());
      this.restate = ClickstreamOptions.restates(options);
      this.deadLetters = PCollectionList.empty(events.getPipeline());
    }

    Outputs build(FeatureSelection selection) {
      // Drift monitors last: they read the rows of the features they watch.
      for (FeatureDefinition definition : selection.definitions()) {
        if (!(definition instanceof DriftMonitor)) {
          write(definition, compile(definition, selection), selection);
        }
      }
      for (FeatureDefinition definition : selection.definitions()) {
        if (definition instanceof DriftMonitor) {
          write(definition, compile(definition, selection), selection);
        }
      }
      return new Outputs(rows, deadLetters.apply("FeatureDeadLetters", Flatten.pCollections()));
    }

    private PCollectionTuple compile(FeatureDefinition definition, FeatureSelection selection) {
      String step = definition.name();
      switch (definition.kind()) {
        case TUMBLING:
        case SESSION:
        case ATTRIBUTION:
          // Over the enriched events when the declaration reads a field the raw events lack, else the raw events.
          return FeatureSelection.readsEnrichedFields(definition)
              ? compileOver(enriched(), EnrichedClickEvent.class, definition)
              : compileOver(events, ClickEvent.class, definition);
        case ROLLING:
          WindowedAggregation rolling = (WindowedAggregation) definition;
          return selected(rolling).apply(step, compiler.rolling(rolling, selection.tablesOf(rolling)));
        case SLIDING:
          SlidingAggregation sliding = (SlidingAggregation) definition;
          return selected(sliding.counts()).apply(step, compiler.sliding(sliding));
        case DRIFT:
          DriftMonitor monitor = (DriftMonitor) definition;
          FeatureDefinition watched =
              selection.definitions().stream()
                  .filter(feature -> feature.name().equals(monitor.view()))
                  .findFirst()
                  .orElseThrow(() -> new IllegalArgumentException(
                      "drift monitor " + monitor.name() + " needs the feature " + monitor.view() + " in the job"));
          return rows.get(watched.table().name()).apply(step, compiler.drift(monitor));
        default:
          throw new IllegalArgumentException("no transform compiles features of kind " + definition.kind());
      }
    }

    /** A feature that reads events of {@code type}, whichever fields its declaration names, compiled over them. */
    private <T extends GenericRecord> PCollectionTuple compileOver(
        PCollection<T> input, Class<T> type, FeatureDefinition definition) {
      switch (definition.kind()) {
        case TUMBLING:
          return input.apply(definition.name(), compiler.tumbling((TumblingAggregation) definition, type));
        case SESSION:
          return input.apply(definition.name(), compiler.session((SessionAggregation) definition, type));
        case ATTRIBUTION:
          return input.apply(definition.name(), compiler.attribution((ClickAttribution) definition, type));
        default:
          throw new IllegalArgumentException("features of kind " + definition.kind() + " do not read events");
      }
    }

    private void write(FeatureDefinition definition, PCollectionTuple compiled, FeatureSelection selection) {
      if (compiled.has(CompileFeature.DEAD_LETTERS)) {
        deadLetters = deadLetters.and(compiled.get(CompileFeature.DEAD_LETTERS));
      }
      for (FeatureTable table : selection.tablesOf(definition)) {
        PCollection<Row> tableRows = compiled.get(CompileFeature.rowsOf(table));
        rows.put(table.name(), tableRows);
        if (options.getWriteOnlineStore()) {
          deadLetters =
              deadLetters.and(tableRows.apply("WriteOnlineStore_" + definition.name() + "_" + table.name(),
                  online(definition, table)));
        }
        if (!isRawEvents(definition, table)) {
          tableRows.apply("WriteOfflineStore_" + definition.name() + "_" + table.name(),
              WriteOfflineFiles.of(table).to(options.getOfflineStore()));
        }
      }
    }

    /** Raw events are the input itself, kept online for on-demand reads: their history is the offline events. */
    private static boolean isRawEvents(FeatureDefinition definition, FeatureTable table) {
      return definition instanceof WindowedAggregation
          && table.equals(((WindowedAggregation) definition).rawEventsTable());
    }

    /** The writer of {@code table}: raw events and tiles keep only what the feature's longest window reads. */
    private WriteToOnlineStore online(FeatureDefinition definition, FeatureTable table) {
      WriteToOnlineStore write =
          WriteToOnlineStore.into(table).withJdbcUrl(options.getOnlineStore()).withRestate(restate);
      if (definition instanceof WindowedAggregation) {
        WindowedAggregation rolling = (WindowedAggregation) definition;
        if (isRawEvents(rolling, table)) {
          return write.withRetention(rolling.entityField(), WindowedAggregation.EVENT_TIME, rolling.retentionMillis());
        }
        if (table.equals(rolling.tilesTable())) {
          return write.withRetention(rolling.entityField(), WindowedAggregation.TILE_START, rolling.retentionMillis());
        }
      }
      return write;
    }

    private PCollection<FeatureEvent> selected(WindowedAggregation feature) {
      return selectedEvents.computeIfAbsent(
          feature.name(), name -> events.apply("Select_" + name, SelectFeatureEvents.of(feature)));
    }

    private PCollection<EnrichedClickEvent> enriched() {
      if (enriched == null) {
        enriched =
            events.apply(
                "EnrichWithDimensions",
                EnrichWithDimensions.of(
                    snapshots(DimensionDefinitions.USERS, options), snapshots(DimensionDefinitions.ITEMS, options)));
      }
      return enriched;
    }
  }

  /**
   * The loads of {@code dimension}: once for a bounded run, which must end, or refreshed for an unbounded one,
   * starting {@code --dimensionLookback} before now (aligned down to the interval, so both dimensions share it).
   */
  static DimensionSnapshots snapshots(Dimension dimension, FeaturePipelineOptions options) {
    SnapshotSource source = source(dimension, options);
    Optional<Duration> refresh = options.getDimensionRefresh().interval();
    if (!readsUnbounded(options) || refresh.isEmpty()) {
      return DimensionSnapshots.loadedOnce(source);
    }
    Duration interval = refresh.get();
    Duration lookback = options.getDimensionLookback().toDuration();
    long start = System.currentTimeMillis() - lookback.getMillis();
    return DimensionSnapshots.refreshedEvery(source, interval)
        .startingAt(new Instant(start - Math.floorMod(start, interval.getMillis())));
  }

  private static SnapshotSource source(Dimension dimension, FeaturePipelineOptions options) {
    String dimensions = options.getDimensions();
    if (dimensions == null || dimensions.isBlank()) {
      return SnapshotSource.jdbc(options.getOnlineStore(), dimension);
    }
    return dimensions.startsWith("jdbc:")
        ? SnapshotSource.jdbc(dimensions, dimension)
        : SnapshotSource.file(dimensions, dimension);
  }

  private static boolean readsUnbounded(ClickstreamOptions options) {
    return ClickstreamOptions.readsKafka(options) && options.getMaxRecords() == null;
  }
}
