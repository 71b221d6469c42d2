package dev.clickstream.serving;

/**
 * The metrics a pipeline run exports on its own {@code /metrics} page ({@code ./clickstream run --metricsPort=N}),
 * which the server's status page reads when told where the run is ({@code serve --pipelineMetrics=URL}). The run
 * writes them, the server reads them: one list of names for both.
 */
public final class PipelineMetricNames {
  /** Every Beam counter of the run, labelled {@code namespace} and {@code name}. */
  public static final String COUNTER = "clickstream_pipeline_counter_total";
  /** Every Beam gauge of the run, labelled like {@link #COUNTER}. */
  public static final String GAUGE = "clickstream_pipeline_gauge";
  /** Every Beam distribution, as {@code _count}, {@code _sum}, {@code _min} and {@code _max}. */
  public static final String DISTRIBUTION = "clickstream_pipeline_distribution";
  /** Events parsed and handed to the features. */
  public static final String EVENTS = "clickstream_pipeline_events_total";
  /** Dead letters, labelled {@code reason}. */
  public static final String DEAD_LETTERS = "clickstream_pipeline_dead_letters_total";
  /** Events that came too late to change a feature, labelled {@code stage}. */
  public static final String LATE_EVENTS = "clickstream_pipeline_late_events_total";
  /** Rows each feature computed for a table, labelled {@code table}; the write path's own counters are under
   * {@link #COUNTER} with namespace {@code WriteToOnlineStore}. */
  public static final String FEATURE_ROWS = "clickstream_pipeline_feature_rows_total";
  /** Records of the Kafka topic the run's consumer group has not committed yet. */
  public static final String CONSUMER_LAG = "clickstream_pipeline_consumer_lag_records";

  public static final String REASON = "reason";
  public static final String STAGE = "stage";
  public static final String TABLE = "table";
  public static final String NAMESPACE = "namespace";
  public static final String NAME = "name";

  private PipelineMetricNames() {}
}
