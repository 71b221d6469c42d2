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

  @Description(
      "File that receives dead letters (rejected records with reason and raw payload) as JSON lines;"
          + " default ./data/dead-letters/PIPELINE.jsonl.")
  @Default.String("")
  String getDeadLetter();

  void setDeadLetter(String value);

  @Description(
      "How long after the watermark passes an event's window late events still update features: 0, 500ms, 30s,"
          + " 10m, 1h or ISO-8601 (PT10M).")
  @Default.String("0")
  String getAllowedLateness();

  void setAllowedLateness(String value);

  /** {@link #getDeadLetter()}, or {@code ./data/dead-letters/<pipeline>.jsonl} when it is not set. */
  static String deadLetterPath(ClickstreamOptions options, String pipeline) {
    String path = options.getDeadLetter();
    return path == null || path.isEmpty() ? "./data/dead-letters/" + pipeline + ".jsonl" : path;
  }
}
