package dev.clickstream.pipelines;

import dev.clickstream.features.Dimension;
import dev.clickstream.features.DimensionDefinitions;
import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.schemas.EnrichedClickEvent;
import dev.clickstream.transforms.DimensionSnapshots;
import dev.clickstream.transforms.EnrichWithDimensions;
import dev.clickstream.transforms.ProcessingClock;
import dev.clickstream.transforms.SnapshotSource;
import dev.clickstream.transforms.TumblingFeatures;
import java.util.List;
import java.util.Optional;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Features of events enriched with their user's and item's dimension attributes: CTR per user segment and per item
 * category over 5-minute windows, and per-user activity (distinct items, item price percentiles, a moving average
 * of clicks).
 *
 * <p>Steps:
 *
 * <ol>
 *   <li>ReadEvents, ParseEvents, AssignEventTime: as in {@link CtrPipeline}.
 *   <li>LoadUsers, LoadItems: the dimension tables ({@code --dimensions}: the online store's {@code users} and
 *       {@code items}, or JSON-lines files), loaded once for a bounded run, or every {@code --dimensionRefresh} for an
 *       unbounded one (a windowed {@code PeriodicImpulse} side input).
 *   <li>EnrichWithDimensions: each event with the attributes of the load in effect at its time; unknown users and
 *       items get the declared defaults, counted.
 *   <li>CtrPerSegment, CtrPerCategory, UserActivity: {@link TumblingFeatures} of {@link
 *       FeatureDefinitions#CTR_BY_SEGMENT_5MIN}, {@link FeatureDefinitions#CTR_BY_CATEGORY_5MIN} and {@link
 *       FeatureDefinitions#USER_ACTIVITY_5MIN}, each into its table, one row per entity holding its latest window.
 * </ol>
 */
public final class EnrichedFeaturesPipeline {
  /** The features computed over enriched events, each into the table named after it. */
  public static final List<TumblingAggregation> FEATURES =
      List.of(
          FeatureDefinitions.CTR_BY_SEGMENT_5MIN,
          FeatureDefinitions.CTR_BY_CATEGORY_5MIN,
          FeatureDefinitions.USER_ACTIVITY_5MIN);

  private EnrichedFeaturesPipeline() {}

  public static void main(String[] args) {
    EnrichedPipelineOptions options =
        PipelineOptionsFactory.fromArgs(args).withValidation().as(EnrichedPipelineOptions.class);
    run(options);
  }

  /** Runs the pipeline as {@link PipelineMain} does: to the end, unless Flink's CLI submits it detached. */
  public static PipelineResult run(EnrichedPipelineOptions options) {
    Pipeline pipeline = Pipeline.create(options);
    build(pipeline, options, ProcessingClock.SYSTEM);
    return PipelineMain.run(pipeline);
  }

  /** Adds the whole pipeline to {@code pipeline}: read, parse, enrich, compute, write, dead letters. */
  public static PCollection<DeadLetter> build(
      Pipeline pipeline, EnrichedPipelineOptions options, ProcessingClock clock) {
    return EventInput.around(pipeline, options, "enriched", events -> buildFrom(events, options, clock));
  }

  /**
   * The enrichment and its features over parsed events stamped with their event time; returns the rows that could
   * not be computed, as dead letters, for the caller to write with its others.
   */
  public static PCollection<DeadLetter> buildFrom(
      PCollection<ClickEvent> events, EnrichedPipelineOptions options, ProcessingClock clock) {
    PCollection<EnrichedClickEvent> enriched =
        events.apply(
            "EnrichWithDimensions",
            EnrichWithDimensions.of(
                snapshots(DimensionDefinitions.USERS, options), snapshots(DimensionDefinitions.ITEMS, options)));
    Duration allowedLateness = options.getAllowedLateness().toDuration();
    PCollectionList<DeadLetter> failures = PCollectionList.empty(events.getPipeline());
    for (TumblingAggregation feature : FEATURES) {
      String step = stepName(feature);
      failures =
          failures.and(
              enriched
                  .apply(
                      step, TumblingFeatures.of(feature, EnrichedClickEvent.class).withAllowedLateness(allowedLateness))
                  .apply(
                      step + "Write",
                      WriteFeatureRows.into(
                          feature.table(),
                          (TumblingFeatures.Row row) -> row.tableRow(feature, clock.nowMillis()),
                          options)));
    }
    return failures.apply("FeatureDeadLetters", Flatten.pCollections());
  }

  /**
   * The loads of {@code dimension}: once for a bounded run, which must end, or refreshed for an unbounded one,
   * starting {@code --dimensionLookback} before now (aligned down to the interval, so both dimensions share it).
   */
  static DimensionSnapshots snapshots(Dimension dimension, EnrichedPipelineOptions options) {
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

  private static SnapshotSource source(Dimension dimension, EnrichedPipelineOptions options) {
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

  /** {@code ctr_by_segment_5min} as {@code CtrBySegment5min}. */
  private static String stepName(TumblingAggregation feature) {
    StringBuilder out = new StringBuilder();
    for (String part : feature.name().split("_")) {
      out.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
    }
    return out.toString();
  }
}
