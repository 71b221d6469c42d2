package dev.clickstream.pipelines;

import dev.clickstream.io.DurationOption;
import java.util.List;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.Validation;

/**
 * Options of {@link FeaturePipeline}: which features to run, how click counts are kept, and where the dimension
 * tables of enriched features come from and how often they refresh.
 */
public interface FeaturePipelineOptions extends ClickstreamOptions {

  @Description(
      "The features to run, comma-separated: feature names of the registry (ctr_5min, user_sessions, ...), the"
          + " views click_counts_on_demand and click_counts_tiled (the raw events and tiles they read), or one"
          + " alias: ctr, click-counts, raw-events, enriched, attribution, sessions, all (the default). See"
          + " FeatureSelection.")
  List<String> getFeatures();

  void setFeatures(List<String> value);

  @Description(
      "How the aliases click-counts and all pre-compute click counts: stateful (a per-user rolling counter, exact"
          + " as of each user's latest click, table click_counts) or sliding (hopping windows every minute, table"
          + " click_counts_sliding).")
  @Default.Enum("STATEFUL")
  @Validation.Required
  ClickCounter getCounter();

  void setCounter(ClickCounter value);

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

  @Description(
      "Whether the job upserts its rows into the online store (--onlineStore). false writes the offline store only,"
          + " as a backfill of history does; the dimension tables are still read from --dimensions or the online"
          + " store.")
  @Default.Boolean(true)
  boolean getWriteOnlineStore();

  void setWriteOnlineStore(boolean value);
}
