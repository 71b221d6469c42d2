package dev.clickstream.pipelines;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;

/** Options of the CTR pipeline. */
public interface CtrPipelineOptions extends ClickstreamOptions {
  @Description("File that receives dead letters (rejected records with reason and raw payload) as JSON lines.")
  @Default.String("./data/dead-letters/ctr.jsonl")
  String getDeadLetter();

  void setDeadLetter(String value);

  @Description(
      "How long after a window's end late events still update it: 0, 500ms, 30s, 10m, 1h or ISO-8601 (PT10M).")
  @Default.String("0")
  String getAllowedLateness();

  void setAllowedLateness(String value);
}
