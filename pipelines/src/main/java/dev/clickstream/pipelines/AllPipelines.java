package dev.clickstream.pipelines;

import dev.clickstream.schemas.ClickEvent;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.transforms.ParseEvents;
import dev.clickstream.transforms.ProcessingClock;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import java.util.function.Function;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.POutput;

/**
 * Every pipeline in one job over one read and one parse of the input: {@link CtrPipeline} ({@code ctr_5min}),
 * {@link ClickCountsPipeline} ({@code click_counts}, or {@code click_counts_sliding}) and {@link RawEventsPipeline}
 * ({@code click_events}, {@code click_tiles}), {@link AttributionPipeline} ({@code item_attribution_5min}),
 * {@link SessionsPipeline} ({@code user_sessions}) and {@link EnrichedFeaturesPipeline} ({@code
 * ctr_by_segment_5min}, {@code ctr_by_category_5min}, {@code user_activity_5min}). Dead letters of every step go to
 * one file, or to the dead-letter topic when the events come from Kafka.
 */
public final class AllPipelines {

  private AllPipelines() {}

  public static void main(String[] args) {
    AllPipelinesOptions options =
        PipelineOptionsFactory.fromArgs(args).withValidation().as(AllPipelinesOptions.class);
    run(options);
  }

  /** Runs the pipeline as {@link PipelineMain} does: to the end, unless Flink's CLI submits it detached. */
  public static PipelineResult run(AllPipelinesOptions options) {
    Pipeline pipeline = Pipeline.create(options);
    build(pipeline, options, ProcessingClock.SYSTEM);
    return PipelineMain.run(pipeline);
  }

  /** Adds every pipeline to {@code pipeline}; returns every dead letter. */
  public static PCollection<DeadLetter> build(Pipeline pipeline, AllPipelinesOptions options, ProcessingClock clock) {
    PCollectionTuple parsed = EventInput.readAndParse(pipeline, options, "all");
    PCollection<ClickEvent> events = EventInput.stamped(parsed, options);
    // Each pipeline under a name of its own, so their steps keep unique names side by side.
    PCollection<DeadLetter> failedCtrRows =
        events.apply("Ctr", step(input -> CtrPipeline.buildFrom(input, options, clock).deadLetters));
    PCollection<DeadLetter> tooLate =
        events.apply("ClickCounts", step(input -> ClickCountsPipeline.buildFrom(input, options, clock).deadLetters));
    PCollection<DeadLetter> rejectedRawRows =
        events.apply("RawEvents", step(input -> RawEventsPipeline.buildFrom(input, options, clock)));
    PCollection<DeadLetter> lateClicks =
        events.apply("Attribution", step(input -> AttributionPipeline.buildFrom(input, options, clock)));
    PCollection<DeadLetter> lateSessionEvents =
        events.apply("Sessions", step(input -> SessionsPipeline.buildFrom(input, options, clock)));
    PCollection<DeadLetter> failedEnrichedRows =
        events.apply("Enriched", step(input -> EnrichedFeaturesPipeline.buildFrom(input, options, clock)));
    PCollection<DeadLetter> deadLetters =
        PCollectionList.of(parsed.get(ParseEvents.DEAD_LETTERS))
            .and(failedCtrRows)
            .and(tooLate)
            .and(lateClicks)
            .and(lateSessionEvents)
            .and(failedEnrichedRows)
            .and(rejectedRawRows)
            .apply("AllDeadLetters", Flatten.pCollections());
    EventInput.writeDeadLetters(deadLetters, options, "all");
    return deadLetters;
  }

  private static <OutputT extends POutput> PTransform<PCollection<ClickEvent>, OutputT> step(
      Function<PCollection<ClickEvent>, OutputT> build) {
    return new PTransform<PCollection<ClickEvent>, OutputT>() {
      @Override
      public OutputT expand(PCollection<ClickEvent> input) {
        return build.apply(input);
      }
    };
  }
}
