package dev.clickstream.bench;

import dev.clickstream.features.FeatureDefinitions;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.io.ReadKafkaEvents;
import dev.clickstream.pipelines.ClickstreamOptions;
import dev.clickstream.pipelines.FeaturePipeline;
import dev.clickstream.pipelines.FeaturePipelineOptions;
import dev.clickstream.runners.DimensionsCommand;
import dev.clickstream.runners.KafkaTopics;
import dev.clickstream.runners.RunCommand;
import dev.clickstream.runners.UsageException;
import dev.clickstream.store.ConnectionPools;
import dev.clickstream.store.Dialect;
import dev.clickstream.store.JdbcUrls;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StorePreflight;
import dev.clickstream.transforms.ParseEvents;
import dev.clickstream.transforms.ProcessingClock;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.Row;
import org.apache.flink.api.common.JobExecutionResult;

/**
 * The streaming runs of {@code bench pipeline}: the registry's one job ({@link FeaturePipeline}, as {@code
 * ./clickstream run NAMES --source=kafka --streaming=true --maxRecords=N} builds it) with every feature ({@code
 * all-stream}) and with {@code ctr_5min} and {@code click_counts} only ({@code counts-stream}), and those two written
 * with Flink's DataStream API ({@code native-stream}, {@link NativeStreamingFeatures}).
 *
 * <p>Each run reads the same pre-filled topic of one partition (written once per event count by {@code ./clickstream
 * generate}: users drawn from a Zipf distribution, 1% malformed records, clicks that follow impressions as in the
 * demo), as an unbounded read bounded by the record count, on embedded Flink with checkpoints every {@link
 * #CHECKPOINT_INTERVAL}, into a PostgreSQL schema of its own, dropped after the run, so every run starts from empty
 * tables. The timed part is the job, from its start to its end with every row written; filling the topic, writing
 * the dimension tables and reading the tables back are not.
 *
 * <p>What a run computed is read back from its tables ({@link Stored}): the rows of {@link #COMPARED} without their
 * processing-time column, which must equal native-stream's row for row, and the dead letters. Freshness beside
 * throughput: when the first and the last click-count row was made ({@link RowTimes}), so the report says how long
 * the job went on after the last event had gone through the features (firing the last windows and writing what
 * the writers held).
 */
final class StreamingRuns {
  static final String ALL = "all-stream";
  static final String COUNTS = "counts-stream";
  static final String NATIVE = "native-stream";
  static final List<String> RUNS = List.of(ALL, COUNTS, NATIVE);

  static final TumblingAggregation CTR = FeatureDefinitions.CTR_5MIN;
  static final WindowedAggregation CLICK_COUNTS = FeatureDefinitions.CLICK_COUNTS;
  /** The tables every streaming run writes, compared with native-stream's. */
  static final List<FeatureTable> COMPARED = List.of(CTR.table(), CLICK_COUNTS.precomputedTable());
  /** The features of counts-stream, by their names in the registry. */
  private static final List<String> COUNTS_FEATURES = List.of(CTR.name(), CLICK_COUNTS.name());

  static final Duration CHECKPOINT_INTERVAL = Duration.ofSeconds(2);
  static final long DEFAULT_EVENTS = 200_000;
  static final long DEFAULT_WARMUP = 20_000;
  static final int DEFAULT_USERS = 10_000;
  static final String DEFAULT_SPAN = "1h";
  /** Items of the generated events and of the items dimension. */
  private static final int ITEMS = 200;
  private static final double MALFORMED_RATIO = 0.01;
  /** As the demo: most clicks follow the user's latest impression, so attribution has something to find. */
  private static final double CLICK_FOLLOWS_IMPRESSION = 0.7;
  private static final AtomicInteger SCHEMAS = new AtomicInteger();

  private StreamingRuns() {}

  /**
   * The arguments of {@code ./clickstream generate} for the topic of {@code events} events: fixed times (the bench's
   * start), so that the same settings give the same records.
   */
  static List<String> generatorArgs(long events, int users, long spanMillis) {
    return List.of("--events=" + events, "--users=" + users, "--items=" + ITEMS,
        "--start=" + PipelineBench.START, "--span=" + Duration.ofMillis(spanMillis),
        "--malformedRatio=" + MALFORMED_RATIO, "--clickFollowsImpression=" + CLICK_FOLLOWS_IMPRESSION);
  }

  /** Fails with what to do when {@code jdbcUrl} is not a PostgreSQL database that answers. */
  static void checkStore(String jdbcUrl) {
    Dialect dialect;
    try {
      dialect = Dialect.fromJdbcUrl(jdbcUrl);
    } catch (IllegalArgumentException e) {
      dialect = null;
    }
    if (dialect != Dialect.POSTGRESQL) {
      throw new UsageException("bench pipeline: the streaming runs write to PostgreSQL, one schema per run;"
          + " --onlineStore=" + JdbcUrls.redacted(jdbcUrl) + " is not a jdbc:postgresql:// URL");
    }
    String problem = StorePreflight.problem(jdbcUrl);
    if (problem != null) {
      throw new UsageException("bench pipeline: --onlineStore=" + JdbcUrls.redacted(jdbcUrl) + " " + problem);
    }
  }

  static PipelineBench.Run measure(String run, PipelineBench.Setup setup) throws Exception {
    switch (run) {
      case ALL:
        return beam(ALL, List.of("all"), setup);
      case COUNTS:
        return beam(COUNTS, COUNTS_FEATURES, setup);
      case NATIVE:
        return nativeStream(setup);
      default:
        throw new IllegalArgumentException("no streaming run " + run);
    }
  }

  /** The registry's job of {@code features}, as {@code run} builds it, with a probe on the click-count rows. */
  private static PipelineBench.Run beam(String side, List<String> features, PipelineBench.Setup setup)
      throws Exception {
    String topic = setup.kafka().streamTopicWith(setup);
    try (RunStore store = RunStore.create(setup.onlineStore())) {
      if (features.contains("all")) {
        // Enrichment reads the users and items tables from the online store, as in the demo.
        DimensionsCommand.write(OnlineStore.forUrl(store.url()), setup.users(), ITEMS, quiet());
      }
      String deadLetterTopic = topic + "-dead-letters";
      KafkaTopics.ensure(setup.kafka().bootstrapServers(), deadLetterTopic);
      List<String> args = new ArrayList<>(List.of(
          "--source=kafka",
          "--bootstrapServers=" + setup.kafka().bootstrapServers(),
          "--topic=" + topic,
          "--maxRecords=" + setup.events(),
          "--streaming=true",
          "--checkpointingInterval=" + CHECKPOINT_INTERVAL.toMillis(),
          "--stateBackend=heap",
          "--stateBackendStoragePath=" + store.scratch().resolve("checkpoints").toUri(),
          "--onlineStore=" + store.url(),
          "--offlineStore=" + store.scratch().resolve("offline"),
          "--deadLetterTopic=" + deadLetterTopic,
          "--consumerGroup=bench-" + side + "-" + UUID.randomUUID(),
          "--parallelism=2"));
      args.addAll(setup.beamArgs());
      FeaturePipelineOptions options = RunCommand.options(String.join(",", features), args);
      Pipeline pipeline = Pipeline.create(options);
      FeaturePipeline.Outputs outputs = FeaturePipeline.build(pipeline, options, ProcessingClock.SYSTEM);
      outputs.rows(CLICK_COUNTS.precomputedTable())
          .apply("RecordRowTimes", ParDo.of(new RecordRowTimesFn()));

      RowTimes.reset();
      PipelineBench.resetHeapPeak();
      long started = System.nanoTime();
      PipelineResult result = pipeline.run();
      PipelineResult.State state = result.waitUntilFinish();
      long ended = System.nanoTime();
      long peakHeap = PipelineBench.heapPeak();
      if (state != PipelineResult.State.DONE) {
        throw new IllegalStateException(side + " ended in state " + state);
      }
      long deadLetters = PipelineBench.counter(result, ParseEvents.STAGE, "dead_letters")
          + PipelineBench.counter(result, ReadKafkaEvents.LATE_STAGE, "events_too_late");
      Stored stored = store.read(FeaturePipeline.selection(FeatureDefinitions.REGISTRY, options).tables(),
          deadLetters, started, ended);
      return PipelineBench.Run.streaming(side, setup.events(), ended - started, peakHeap, stored);
    }
  }

  private static PipelineBench.Run nativeStream(PipelineBench.Setup setup) throws Exception {
    String topic = setup.kafka().streamTopicWith(setup);
    try (RunStore store = RunStore.create(setup.onlineStore())) {
      OnlineStore tables = OnlineStore.forUrl(store.url());
      COMPARED.forEach(tables::ensureTable);
      Duration maxOutOfOrderness =
          Duration.ofMillis(PipelineOptionsFactory.create().as(ClickstreamOptions.class).getMaxOutOfOrderness()
              .toDuration().getMillis());
      NativeStreamingFeatures.Settings settings = new NativeStreamingFeatures.Settings(
          setup.kafka().bootstrapServers(), topic, store.url(), store.scratch().resolve("checkpoints"),
          CHECKPOINT_INTERVAL, maxOutOfOrderness);

      RowTimes.reset();
      PipelineBench.resetHeapPeak();
      long started = System.nanoTime();
      JobExecutionResult result = NativeStreamingFeatures.run(settings);
      long ended = System.nanoTime();
      long peakHeap = PipelineBench.heapPeak();
      Long deadLetters = result.getAccumulatorResult(NativeStreamingFeatures.DEAD_LETTERS);
      Stored stored = store.read(COMPARED, deadLetters == null ? 0 : deadLetters, started, ended);
      return PipelineBench.Run.streaming(NATIVE, setup.events(), ended - started, peakHeap, stored);
    }
  }

  /** Where the output of the commands the runs call goes: nowhere, the bench prints its own summary. */
  static PrintStream quiet() {
    return new PrintStream(OutputStream.nullOutputStream());
  }

  /**
   * When the first and the last click-count row of the running job was made, in this JVM's {@link System#nanoTime}:
   * embedded Flink runs the job's tasks in this process.
   */
  static final class RowTimes {
    private static final long NONE = Long.MIN_VALUE;
    private static final AtomicLong FIRST = new AtomicLong(NONE);
    private static final AtomicLong LAST = new AtomicLong(NONE);

    private RowTimes() {}

    static void reset() {
      FIRST.set(NONE);
      LAST.set(NONE);
    }

    static void record() {
      long now = System.nanoTime();
      if (FIRST.get() == NONE) {
        FIRST.compareAndSet(NONE, now);
      }
      LAST.set(now);
    }
  }

  /** Tells {@link RowTimes} of every row that passes. */
  private static final class RecordRowTimesFn extends DoFn<Row, Void> {
    @ProcessElement
    public void processElement() {
      RowTimes.record();
    }
  }

  /**
   * What a streaming run left: the rows of {@link #COMPARED} (without {@code updated_at}) by table, ordered by key,
   * the rows of every table it wrote, its dead letters, and the times from its start to its first click-count row
   * and from its last click-count row to its end (every row written), in nanoseconds.
   */
  record Stored(Map<String, List<List<Object>>> compared, Map<String, Long> tableRows, long deadLetters,
      long firstRowNanos, long afterLastRowNanos) {

    /** Null when this run stored what {@code reference} stored; else what differs, for one line of the report. */
    String difference(Stored reference) {
      List<String> differences = new ArrayList<>();
      if (deadLetters != reference.deadLetters) {
        differences.add(String.format(Locale.ROOT, "%,d dead letters against %,d", deadLetters,
            reference.deadLetters));
      }
      for (Map.Entry<String, List<List<Object>>> table : reference.compared.entrySet()) {
        String difference = difference(table.getKey(), compared.get(table.getKey()), table.getValue());
        if (difference != null) {
          differences.add(difference);
        }
      }
      return differences.isEmpty() ? null : String.join("; ", differences);
    }

    private static String difference(String table, List<List<Object>> rows, List<List<Object>> reference) {
      if (rows == null) {
        return table + " not written";
      }
      if (rows.equals(reference)) {
        return null;
      }
      Map<Object, List<Object>> byKey = byKey(rows);
      Map<Object, List<Object>> referenceByKey = byKey(reference);
      long missing = referenceByKey.keySet().stream().filter(key -> !byKey.containsKey(key)).count();
      long extra = byKey.keySet().stream().filter(key -> !referenceByKey.containsKey(key)).count();
      List<Object> differing = null;
      long different = 0;
      for (Map.Entry<Object, List<Object>> row : referenceByKey.entrySet()) {
        List<Object> other = byKey.get(row.getKey());
        if (other != null && !other.equals(row.getValue())) {
          different++;
          if (differing == null) {
            differing = List.of(other, row.getValue());
          }
        }
      }
      return String.format(Locale.ROOT, "%s: %,d rows against %,d, %,d missing, %,d extra, %,d different%s", table,
          rows.size(), reference.size(), missing, extra, different,
          differing == null ? "" : " (first " + differing.get(0) + " against " + differing.get(1) + ")");
    }

    private static Map<Object, List<Object>> byKey(List<List<Object>> rows) {
      Map<Object, List<Object>> byKey = new LinkedHashMap<>();
      rows.forEach(row -> byKey.put(row.get(0), row));
      return byKey;
    }

    /**
     * {@code events} over the time from the first click-count row to the last of a run that took {@code nanos}: its
     * pace once started and before its last windows close, which start-up and the end of input do not move.
     */
    double eventsPerSecondBetweenRows(long events, long nanos) {
      return events / ((nanos - firstRowNanos - afterLastRowNanos) / 1e9);
    }

    long rowsOf(FeatureTable table) {
      return compared.get(table.name()).size();
    }
  }

  /**
   * A PostgreSQL schema and a scratch directory (checkpoints, offline files) for one run, both removed on close,
   * with the JVM's connection pools, which would otherwise keep connections to the dropped schema.
   */
  private static final class RunStore implements AutoCloseable {
    private final String baseUrl;
    private final String schema;
    private final Path scratch;

    private RunStore(String baseUrl, String schema, Path scratch) {
      this.baseUrl = baseUrl;
      this.schema = schema;
      this.scratch = scratch;
    }

    static RunStore create(String baseUrl) throws Exception {
      // A name of digits after a fixed prefix: nothing from outside reaches the SQL.
      String schema = "clickstream_bench_" + ProcessHandle.current().pid() + "_" + SCHEMAS.incrementAndGet();
      try (Connection connection = DriverManager.getConnection(baseUrl);
          Statement statement = connection.createStatement()) {
        statement.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        statement.execute("CREATE SCHEMA " + schema);
      }
      return new RunStore(baseUrl, schema, Files.createTempDirectory("clickstream-bench-stream"));
    }

    /** The run's online store: the base URL with the run's schema first on the search path. */
    String url() {
      return baseUrl + (baseUrl.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    }

    Path scratch() {
      return scratch;
    }

    /**
     * What the run stored in {@code written} (tables a run may not have created count as 0 rows), with its dead
     * letters and row times against its start and end.
     */
    Stored read(List<FeatureTable> written, long deadLetters, long startedNanos, long endedNanos)
        throws SQLException {
      Map<String, List<List<Object>>> compared = new LinkedHashMap<>();
      Map<String, Long> tableRows = new LinkedHashMap<>();
      try (Connection connection = DriverManager.getConnection(url());
          Statement statement = connection.createStatement()) {
        for (FeatureTable table : COMPARED) {
          compared.put(table.name(), rows(statement, table));
        }
        for (FeatureTable table : written) {
          tableRows.put(table.name(), count(statement, table));
        }
      }
      long first = RowTimes.FIRST.get();
      long last = RowTimes.LAST.get();
      return new Stored(compared, tableRows, deadLetters,
          first == RowTimes.NONE ? -1 : first - startedNanos, last == RowTimes.NONE ? -1 : endedNanos - last);
    }

    /** Every row but its processing time, ordered by the primary key; names from the declaration. */
    private static List<List<Object>> rows(Statement statement, FeatureTable table) throws SQLException {
      List<String> columns = new ArrayList<>(table.columnNames());
      columns.remove(WindowedAggregation.UPDATED_AT);
      String keys = table.keyColumns().stream().map(FeatureTable.Column::name).collect(Collectors.joining(", "));
      List<List<Object>> rows = new ArrayList<>();
      try (ResultSet result = statement.executeQuery(
          "SELECT " + String.join(", ", columns) + " FROM " + table.name() + " ORDER BY " + keys)) {
        while (result.next()) {
          List<Object> row = new ArrayList<>(columns.size());
          for (int c = 1; c <= columns.size(); c++) {
            row.add(result.getObject(c));
          }
          rows.add(row);
        }
      }
      return rows;
    }

    private long count(Statement statement, FeatureTable table) throws SQLException {
      try (ResultSet exists = statement.executeQuery(
          "SELECT to_regclass('" + schema + "." + table.name() + "') IS NOT NULL")) {
        exists.next();
        if (!exists.getBoolean(1)) {
          return 0;
        }
      }
      try (ResultSet count = statement.executeQuery("SELECT COUNT(*) FROM " + table.name())) {
        count.next();
        return count.getLong(1);
      }
    }

    @Override
    public void close() throws Exception {
      ConnectionPools.closeAll();
      try (Connection connection = DriverManager.getConnection(baseUrl);
          Statement statement = connection.createStatement()) {
        statement.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
      } finally {
        Directories.deleteRecursively(scratch);
      }
    }
  }

  /** The lines a streaming run adds to its report: what it stored and when its rows came. */
  static String describe(Stored stored, long events, long nanos) {
    String tables = stored.tableRows().entrySet().stream()
        .map(table -> String.format(Locale.ROOT, "%s %,d", table.getKey(), table.getValue()))
        .collect(Collectors.joining(", "));
    return String.format(Locale.ROOT,
        "rows: %s; %,d dead letters%n%sfirst click-count row %.1f s after the start, the last %.2f s before the"
            + " end (every row written); %,.0f events/s in between",
        tables, stored.deadLetters(), " ".repeat(17), stored.firstRowNanos() / 1e9,
        stored.afterLastRowNanos() / 1e9, stored.eventsPerSecondBetweenRows(events, nanos));
  }

  static boolean isStreaming(String run) {
    return RUNS.contains(run);
  }

  /** Every value of {@code values}, for the report. */
  static String list(List<Double> values, String format) {
    return values.stream().map(value -> String.format(Locale.ROOT, format, value)).collect(Collectors.joining(", "));
  }
}
