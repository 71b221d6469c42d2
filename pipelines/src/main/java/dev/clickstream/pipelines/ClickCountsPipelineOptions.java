package dev.clickstream.pipelines;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.Validation;

/** Options of the click-counts pipeline. */
public interface ClickCountsPipelineOptions extends ClickstreamOptions {

  @Description(
      "How click counts are pre-computed: stateful (a per-user rolling counter, exact as of each user's latest"
          + " click, table click_counts) or sliding (hopping windows every minute, table click_counts_sliding).")
  @Default.Enum("STATEFUL")
  @Validation.Required
  ClickCounter getCounter();

  void setCounter(ClickCounter value);
}
