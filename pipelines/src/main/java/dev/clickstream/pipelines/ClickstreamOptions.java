package dev.clickstream.pipelines;

import dev.clickstream.io.DurationOption;
import dev.clickstream.io.ReadKafkaEvents;
import dev.clickstream.io.WriteDeadLettersToKafka;
import dev.clickstream.transforms.ClickEventDecoder;
import dev.clickstream.transforms.ParseEvents;
import java.util.Map;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.DefaultValueFactory;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.Validation;
import org.joda.time.Duration;

/** Options every clickstream pipeline shares: where events come from and where features go. */
public interface ClickstreamOptions extends PipelineOptions {
  /** H2 in a file under ./data; AUTO_SERVER lets `serve` read it while a pipeline writes. */
  String DEFAULT_ONLINE_STORE = "jdbc:h2:file:./data/online;AUTO_SERVER=TRUE";

  @Description("Where events come from: file (--input) or kafka (--bootstrapServers, --topic).")
  @Default.Enum("FILE")
  @Validation.Required
  EventSource getSource();

  void setSource(EventSource value);

  @Description(
      "Events to read with --source=file: a file path or glob. JSON lines (one event per line) or Avro container"
          + " files (.avro).")
  String getInput();

  void setInput(String value);

  @Description(
      "Event format. Files: auto (Avro for *.avro, else JSON lines), json or avro. Kafka messages: auto (JSON"
          + " when a message starts with '{', else Avro: single-object encoding, see --writerSchemas, or binary of"
          + " the compiled schema), json or avro.")
  @Default.Enum("AUTO")
  @Validation.Required
  ClickEventDecoder.Format getInputFormat();

  void setInputFormat(ClickEventDecoder.Format value);

  @Description(
      "With --source=kafka: Avro schemas producers write ClickEvents with, besides the compiled one: .avsc files or"
          + " directories of them, comma-separated. Messages in Avro's single-object encoding are read with the"
          + " schema of their fingerprint; one written with a schema not listed is a dead letter (unknown_schema).")
  @Default.String("")
  String getWriterSchemas();

  void setWriterSchemas(String value);

  @Description("Kafka brokers to read from and write dead letters to, with --source=kafka: HOST:PORT[,HOST:PORT].")
  @Default.String("127.0.0.1:9092")
  @Validation.Required
  String getBootstrapServers();

  void setBootstrapServers(String value);

  @Description("Kafka topic of the events, with --source=kafka.")
  @Default.String(ReadKafkaEvents.DEFAULT_TOPIC)
  @Validation.Required
  String getTopic();

  void setTopic(String value);

  @Description(
      "Kafka topic for dead letters with --source=kafka: each holds the original message bytes, with the reason,"
          + " detail, stage and source position in its headers.")
  @Default.String(WriteDeadLettersToKafka.DEFAULT_TOPIC)
  @Validation.Required
  String getDeadLetterTopic();

  void setDeadLetterTopic(String value);

  @Description(
      "Kafka consumer group: its committed offsets (reads commit only what a completed checkpoint holds, so"
          + " nothing without --checkpointingInterval) are where a new run without a savepoint starts;"
          + " with none, reading starts at the earliest offset. Default clickstream-PIPELINE.")
  @Default.String("")
  String getConsumerGroup();

  void setConsumerGroup(String value);

  @Description(
      "With --source=kafka: stop after this many records (events and bad records alike), then close every window"
          + " and finish, as a backfill or a test does; a topic of one partition only. Unset: run until"
          + " cancelled.")
  Long getMaxRecords();

  void setMaxRecords(Long value);

  @Description(
      "With --source=kafka: how far behind the latest event time read from a partition its events may still"
          + " arrive before the watermark passes them (500ms, 5s, 1m, PT1M).")
  @Default.InstanceFactory(DurationDefault.MaxOutOfOrderness.class)
  @Validation.Required
  DurationOption getMaxOutOfOrderness();

  void setMaxOutOfOrderness(DurationOption value);

  @Description(
      "With --source=kafka: after a partition has been caught up and silent this long, its watermark advances"
          + " with the wall clock, so windows close without new events.")
  @Default.InstanceFactory(DurationDefault.IdleTimeout.class)
  @Validation.Required
  DurationOption getIdleTimeout();

  void setIdleTimeout(DurationOption value);

  @Description(
      "Events dated more than this after the clock are dead letters with reason future, and move no watermark:"
          + " 0, 30s, 1h or ISO-8601. Files and Kafka alike; raise it to read events dated ahead on purpose.")
  @Default.InstanceFactory(DurationDefault.MaxFutureSkew.class)
  @Validation.Required
  DurationOption getMaxFutureSkew();

  void setMaxFutureSkew(DurationOption value);

  @Description(
      "JDBC URL of the online store: jdbc:h2:file:PATH (embedded), jdbc:postgresql://HOST:PORT/DB or"
          + " jdbc:mariadb://HOST:PORT/DB (jdbc:mysql:// too). Tables are created when missing. A password is best"
          + " given in the environment variable CLICKSTREAM_STORE_PASSWORD; one in the URL is taken out of the"
          + " job's options on embedded Flink and refused for a cluster, whose REST API serves the options.")
  @Default.String(DEFAULT_ONLINE_STORE)
  String getOnlineStore();

  void setOnlineStore(String value);

  @Description(
      "Embedded Flink: the address its REST API (web UI, job options, cancel) and BLOB server listen on."
          + " 127.0.0.1 by default; 0.0.0.0 exposes them on every interface, without authentication: see"
          + " docs/deploy-flink.md for what to protect first.")
  @Default.String(EmbeddedFlink.LOOPBACK)
  String getFlinkBindAddress();

  void setFlinkBindAddress(String value);

  @Description(
      "./clickstream run on the Direct runner or embedded Flink: serve the run's Beam metrics (per-feature rows, dead"
          + " letters by reason, late events, consumer lag, the write path) in Prometheus' text format at"
          + " http://127.0.0.1:PORT/metrics while it runs; 0 picks a free port. Unset: no endpoint. A job on a Flink"
          + " cluster reports through the cluster's own metric reporters.")
  Integer getMetricsPort();

  void setMetricsPort(Integer value);

  @Description("Directory of the offline store: Parquet files under TABLE/date=YYYY-MM-DD/ and events/date=YYYY-MM-DD/.")
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
      "How far behind the watermark an event may arrive and still update features; later ones are dead letters"
          + " with reason late: 0, 500ms, 30s, 10m, 1h or ISO-8601 (PT10M).")
  @Default.InstanceFactory(DurationDefault.AllowedLateness.class)
  @Validation.Required
  DurationOption getAllowedLateness();

  void setAllowedLateness(DurationOption value);

  @Description(
      "Restate history from corrected input: every feature row this run writes replaces the stored row of its key,"
          + " even one with a later window or more events, which the online store otherwise keeps. For a bounded"
          + " rerun only (--source=file, or --source=kafka with --maxRecords).")
  @Default.Boolean(false)
  boolean getRestate();

  void setRestate(boolean value);

  /**
   * The defaults of the duration options, in one table. Beam makes a default by instantiating the factory class that
   * {@code @Default.InstanceFactory} names, so each option names its own subclass, and the table holds its value.
   */
  abstract class DurationDefault implements DefaultValueFactory<DurationOption> {
    private static final Map<Class<?>, Duration> VALUES =
        Map.of(
            MaxOutOfOrderness.class, ReadKafkaEvents.DEFAULT_MAX_OUT_OF_ORDERNESS,
            IdleTimeout.class, ReadKafkaEvents.DEFAULT_IDLE_TIMEOUT,
            MaxFutureSkew.class, ParseEvents.DEFAULT_MAX_FUTURE_SKEW,
            AllowedLateness.class, Duration.ZERO,
            DimensionLookback.class, Duration.standardMinutes(30));

    @Override
    public DurationOption create(PipelineOptions options) {
      return DurationOption.of(VALUES.get(getClass()));
    }

    public static final class MaxOutOfOrderness extends DurationDefault {}

    public static final class IdleTimeout extends DurationDefault {}

    public static final class MaxFutureSkew extends DurationDefault {}

    public static final class AllowedLateness extends DurationDefault {}

    /** Of {@link FeaturePipelineOptions#getDimensionLookback()}. */
    public static final class DimensionLookback extends DurationDefault {}
  }

  /**
   * {@link #getRestate()}, refused for an unbounded read: there a late pane with fewer events would replace a fuller
   * one for good.
   */
  static boolean restates(ClickstreamOptions options) {
    if (options.getRestate() && readsKafka(options) && options.getMaxRecords() == null) {
      throw new IllegalArgumentException(
          "--restate replaces stored rows whatever they hold, so it is for a bounded rerun over corrected input:"
              + " use --source=file, or --source=kafka with --maxRecords=N");
    }
    return options.getRestate();
  }

  /** Whether events come from Kafka ({@code --source=kafka}). */
  public static boolean readsKafka(ClickstreamOptions options) {
    return options.getSource() == EventSource.KAFKA;
  }

  /** {@link #getConsumerGroup()}, or {@code clickstream-<pipeline>} when it is not set. */
  public static String consumerGroup(ClickstreamOptions options, String pipeline) {
    String group = options.getConsumerGroup();
    return group == null || group.isEmpty() ? "clickstream-" + pipeline : group;
  }

  /** {@link #getDeadLetter()}, or {@code ./data/dead-letters/<pipeline>.jsonl} when it is not set. */
  static String deadLetterPath(ClickstreamOptions options, String pipeline) {
    String path = options.getDeadLetter();
    return path == null || path.isEmpty() ? "./data/dead-letters/" + pipeline + ".jsonl" : path;
  }
}
