package dev.clickstream.pipelines;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.Validation;

/** Options every clickstream pipeline shares: where events come from and where features go. */
public interface ClickstreamOptions extends PipelineOptions {
  /** H2 in a file under ./data; AUTO_SERVER lets `serve` read it while a pipeline writes. */
  String DEFAULT_ONLINE_STORE = "jdbc:h2:file:./data/online;AUTO_SERVER=TRUE";

  @Description(
      "Events to read: a file path or glob. JSON lines (one event per line) or Avro container files (.avro).")
  @Validation.Required
  String getInput();

  void setInput(String value);

  @Description("Input format: auto (Avro for *.avro, else JSON lines), json or avro.")
  @Default.String("auto")
  String getInputFormat();

  void setInputFormat(String value);

  @Description(
      "JDBC URL of the online store: jdbc:h2:file:PATH (embedded), jdbc:postgresql://HOST:PORT/DB or jdbc:mariadb://HOST:PORT/DB (jdbc:mysql:// too)."
          + " Tables are created when missing.")
  @Default.String(DEFAULT_ONLINE_STORE)
  String getOnlineStore();

  void setOnlineStore(String value);

  @Description("Directory of the offline store: Avro files under TABLE/date=YYYY-MM-DD/.")
  @Default.String("./data/offline")
  String getOfflineStore();

  void setOfflineStore(String value);
}
