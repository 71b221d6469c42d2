package dev.clickstream.pipelines;

import dev.clickstream.io.DurationOption;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.Validation;

/** Options of the enriched-features pipeline: where the dimension tables come from and how often they refresh. */
public interface EnrichedPipelineOptions extends ClickstreamOptions {

  @Description(
      "Where the users and items dimension tables are read: a JDBC URL (tables users and items), or a directory"
          + " holding users.jsonl and items.jsonl. Default: the online store (--onlineStore).")
  String getDimensions();

  void setDimensions(String value);

  @Description(
      "How often an unbounded run (Kafka without --maxRecords) reloads the dimension tables; each event uses the"
          + " load of its own time's interval. once: load them once. A bounded run always loads them once, so it"
          + " ends. 30s, 5m, 1h or ISO-8601 (PT5M).")
  @Default.InstanceFactory(DimensionRefresh.EveryFiveMinutes.class)
  @Validation.Required
  DimensionRefresh getDimensionRefresh();

  void setDimensionRefresh(DimensionRefresh value);

  @Description(
      "With refreshes: how far before the job's start they begin, so events up to this old still find a load of"
          + " their interval; older ones get the declared defaults (counted as before_first_snapshot). Each interval"
          + " of it is loaded once at start, and every load is kept as side-input state: keep it a few intervals.")
  @Default.InstanceFactory(ClickstreamOptions.DurationDefault.DimensionLookback.class)
  @Validation.Required
  DurationOption getDimensionLookback();

  void setDimensionLookback(DurationOption value);
}
