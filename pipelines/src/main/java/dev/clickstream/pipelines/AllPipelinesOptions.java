package dev.clickstream.pipelines;

/** Options of {@link AllPipelines}: the union of every pipeline's options. */
public interface AllPipelinesOptions extends CtrPipelineOptions, ClickCountsPipelineOptions, EnrichedPipelineOptions {}
