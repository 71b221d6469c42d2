package dev.clickstream.offline;

import dev.clickstream.io.DurationOption;
import java.util.List;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.Validation;

/** Options of {@link TrainingData}: the spine, the views, the output and the offline store they are read from. */
public interface TrainingDataOptions extends PipelineOptions {
  @Description(
      "The spine: a CSV file (header row; its name ends in .csv) or a Parquet file with the entity key of every"
          + " view, timestamp (epoch ms) and any other columns (a label, ...), which are passed through.")
  @Validation.Required
  String getSpine();

  void setSpine(String value);

  @Description(
      "The views to join, comma-separated: ctr_5min, click_counts, click_counts_on_demand, user_sessions, ... (every"
          + " feature of the registry but drift monitors, and the on-demand and tiled views of rolling ones).")
  @Validation.Required
  List<String> getFeatures();

  void setFeatures(List<String> value);

  @Description(
      "The training set: Parquet, or CSV when the name ends in .csv. One row per spine row, in spine order: the"
          + " spine's columns, then VIEW__COLUMN of every view. Replaced when it exists.")
  @Validation.Required
  String getOutput();

  void setOutput(String value);

  @Description(
      "Values older than this at the spine's timestamp (the timestamp minus the row's time) are null: 30m, 1h,"
          + " PT2H. Unset: any age.")
  DurationOption getMaxAge();

  void setMaxAge(DurationOption value);

  @Description("Directory of the offline store: the history under VIEW/date=YYYY-MM-DD/, raw events under events/.")
  @Default.String("./data/offline")
  String getOfflineStore();

  void setOfflineStore(String value);
}
