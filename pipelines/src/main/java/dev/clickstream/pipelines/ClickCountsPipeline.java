package dev.clickstream.pipelines;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureWindow;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.transforms.EntityPartials;
import dev.clickstream.transforms.FeatureEvent;
import dev.clickstream.transforms.ParseEvents;
import dev.clickstream.transforms.ProcessingClock;
import dev.clickstream.transforms.RollingAggregate;
import dev.clickstream.transforms.SelectFeatureEvents;
import dev.clickstream.transforms.SlidingWindowCount;
import dev.clickstream.transforms.TooLateEvents;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.joda.time.Duration;

/**
 * Clicks per user over the last 1, 10, 30 and 60 minutes, pre-computed in the stream from the one definition
 * {@link FeatureDefinitions#CLICK_COUNTS}.
 *
 * <p>Steps:
 *
 * <ol>
 *   <li>ReadEvents, ParseEvents, AssignEventTime: as in {@link CtrPipeline}.
 *   <li>SelectClickCounts: the feature's events (clicks), keyed by user.
 *   <li>With {@code --counter=stateful} (the default): RollingClickCounts, a per-user rolling counter that emits
 *       the user's counts as of its latest click whenever they change; WriteOnlineStore upserts them into {@code
 *       click_counts}. Events that arrive after the allowed lateness go to the dead letters.
 *   <li>With {@code --counter=sliding}: SlidingClickCounts, hopping windows every minute; WriteOnlineStore upserts
 *       each user's latest window into {@code click_counts_sliding}.
 *   <li>WriteDeadLetters: rejected and too-late records, to the dead-letter file (or topic, for Kafka).
 * </ol>
 */
public final class ClickCountsPipeline {
  public static final WindowedAggregation FEATURE = FeatureDefinitions.CLICK_COUNTS;
  /** How often the hopping windows of {@code --counter=sliding} start. */
  public static final Duration SLIDING_PERIOD = Duration.standardMinutes(1);

  /** The graph's outputs, for tests and summaries; one of the two row collections is null. */
  public static final class Outputs {
    public final PCollection<EntityPartials> rollingRows;
    public final PCollection<SlidingWindowCount.Counts> slidingRows;
    public final PCollection<DeadLetter> deadLetters;

    Outputs(
        PCollection<EntityPartials> rollingRows,
        PCollection<SlidingWindowCount.Counts> slidingRows,
        PCollection<DeadLetter> deadLetters) {
      this.rollingRows = rollingRows;
      this.slidingRows = slidingRows;
      this.deadLetters = deadLetters;
    }
  }

  private ClickCountsPipeline() {}

  public static void main(String[] args) {
    ClickCountsPipelineOptions options =
        PipelineOptionsFactory.fromArgs(args).withValidation().as(ClickCountsPipelineOptions.class);
    run(options);
  }

  /** Runs the pipeline as {@link PipelineMain} does: to the end, unless Flink's CLI submits it detached. */
  public static PipelineResult run(ClickCountsPipelineOptions options) {
    Pipeline pipeline = Pipeline.create(options);
    build(pipeline, options, ProcessingClock.SYSTEM);
    return PipelineMain.run(pipeline);
  }

  /** Adds the whole click-counts pipeline to {@code pipeline}. */
  public static Outputs build(Pipeline pipeline, ClickCountsPipelineOptions options, ProcessingClock clock) {
    PCollectionTuple parsed = EventInput.readAndParse(pipeline, options, "click-counts");
    Outputs outputs = buildFrom(EventInput.stamped(parsed, options), options, clock);
    PCollection<DeadLetter> deadLetters =
        PCollectionList.of(parsed.get(ParseEvents.DEAD_LETTERS))
            .and(outputs.deadLetters)
            .apply("AllDeadLetters", Flatten.pCollections());
    EventInput.writeDeadLetters(deadLetters, options, "click-counts");
    return new Outputs(outputs.rollingRows, outputs.slidingRows, deadLetters);
  }

  /**
   * The click-count steps over parsed events stamped with their event time; the returned dead letters are the
   * events that arrived too late, for the caller to write with its others.
   */
  public static Outputs buildFrom(
      PCollection<ClickEvent> events, ClickCountsPipelineOptions options, ProcessingClock clock) {
    Duration allowedLateness = options.getAllowedLateness().toDuration();
    PCollection<FeatureEvent> clicks = events.apply("SelectClickCounts", SelectFeatureEvents.of(FEATURE));
    return options.getCounter() == ClickCounter.SLIDING
        ? sliding(clicks, options, allowedLateness, clock)
        : rolling(clicks, options, allowedLateness, clock);
  }

  private static Outputs rolling(
      PCollection<FeatureEvent> clicks, ClickstreamOptions options, Duration allowedLateness, ProcessingClock clock) {
    PCollectionTuple counted =
        clicks.apply("RollingClickCounts", RollingAggregate.of(FEATURE).withAllowedLateness(allowedLateness));
    PCollection<EntityPartials> rows = counted.get(RollingAggregate.ROWS);
    PCollection<DeadLetter> failedRows =
        rows.apply(
            "WriteOnlineStore",
            WriteFeatureRows.into(
                FEATURE.precomputedTable(),
                (EntityPartials row) ->
                    FEATURE.precomputedRow(row.entity(), row.time(), row.partials(), clock.nowMillis()),
                options));
    PCollection<DeadLetter> tooLate =
        counted
            .get(RollingAggregate.TOO_LATE)
            .apply("TooLateToDeadLetters", TooLateEvents.toDeadLetters("RollingClickCounts", allowedLateness));
    return new Outputs(
        rows, null, PCollectionList.of(tooLate).and(failedRows).apply("FeatureDeadLetters", Flatten.pCollections()));
  }

  private static Outputs sliding(
      PCollection<FeatureEvent> clicks, ClickstreamOptions options, Duration allowedLateness, ProcessingClock clock) {
    List<Duration> sizes = new ArrayList<>();
    for (FeatureWindow window : FEATURE.windows()) {
      sizes.add(Duration.millis(window.lengthMillis()));
    }
    PCollection<SlidingWindowCount.Counts> rows =
        clicks.apply(
            "SlidingClickCounts",
            SlidingWindowCount.of(SLIDING_PERIOD, sizes).withAllowedLateness(allowedLateness));
    // Beam drops events later than the allowed lateness from hopping windows, counted in droppedDueToLateness.
    PCollection<DeadLetter> failedRows =
        rows.apply(
            "WriteOnlineStore",
            WriteFeatureRows.into(
                FeatureTables.CLICK_COUNTS_SLIDING,
                (SlidingWindowCount.Counts row) -> slidingRow(row, clock.nowMillis()),
                options));
    return new Outputs(null, rows, failedRows);
  }

  /** A {@link FeatureTables#CLICK_COUNTS_SLIDING} row. */
  static Object[] slidingRow(SlidingWindowCount.Counts counts, long updatedAt) {
    long[] values = counts.counts();
    Object[] row = new Object[values.length + 3];
    row[0] = counts.entity();
    row[1] = counts.windowEnd();
    for (int i = 0; i < values.length; i++) {
      row[i + 2] = values[i];
    }
    row[row.length - 1] = updatedAt;
    return row;
  }
}
