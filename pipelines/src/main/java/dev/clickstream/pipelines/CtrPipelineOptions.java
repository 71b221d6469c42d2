package dev.clickstream.pipelines;

/** Options of the CTR pipeline: those every clickstream pipeline shares. */
public interface CtrPipelineOptions extends ClickstreamOptions {}
