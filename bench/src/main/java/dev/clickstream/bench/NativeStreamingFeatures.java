package dev.clickstream.bench;

import dev.clickstream.features.Aggregation;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.FeatureWindow;
import dev.clickstream.features.ReplaceRule;
import dev.clickstream.features.TumblingAggregation;
import dev.clickstream.features.WindowedAggregation;
import dev.clickstream.pipelines.EmbeddedFlink;
import dev.clickstream.runners.RunCommand;
import dev.clickstream.schemas.ClickEvent;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.BasicTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.streaming.api.functions.sink.RichSinkFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * {@code ctr_5min} and {@code click_counts} written with Flink's DataStream API, as an engineer who drops Beam would
 * write them: the streaming peer of the same features compiled by Beam ({@code bench pipeline --runs=native-stream}).
 * In streaming mode, with checkpoints, into the same PostgreSQL tables.
 *
 * <p>Steps:
 *
 * <ol>
 *   <li>ReadKafka: Flink's {@link KafkaSource} from the earliest offset to the latest one when the job starts (the
 *       bench fills the topic first), one reader per partition.
 *   <li>DecodeEvents: Avro's single-object decoder, reusing one record; a record it cannot decode is counted as a
 *       dead letter. Only the events the two features read go on, as {@link NativeEvent}s.
 *   <li>Watermarks trail the greatest event time by the pipelines' default {@code --maxOutOfOrderness}.
 *   <li>Ctr: keyed by user, tumbling event-time windows, counts aggregated as events arrive, one row per window when
 *       the watermark closes it.
 *   <li>ClickCounts: the clicks keyed by user, a {@link KeyedProcessFunction} holding the user's click times over
 *       the longest window in one value state, one row per click as of the user's latest click time (the semantics
 *       of {@code RollingAggregate}: counts over {@code [latest - window, latest]}), the held clicks cleared by an
 *       event-time timer once the watermark has passed {@code latest + longest window}.
 *   <li>Upsert_TABLE: a JDBC sink that keeps the latest row per user and writes them in multi-row {@code INSERT ...
 *       ON CONFLICT DO UPDATE ... WHERE} statements guarded by the table's never-regress rule, in one transaction per
 *       flush: every {@link #FLUSH_INTERVAL}, at {@link #MAX_BUFFERED_ROWS}, at each checkpoint and at the end of
 *       input (at least once, made idempotent by the guard, as the project's own writer).
 * </ol>
 *
 * <p>Tables, columns, windows and the event types counted come from the declarations ({@link #CTR}, {@link
 * #CLICK_COUNTS}); the SQL is this class's own, as a Flink job's would be.
 */
final class NativeStreamingFeatures {
  static final TumblingAggregation CTR = StreamingRuns.CTR;
  static final WindowedAggregation CLICK_COUNTS = StreamingRuns.CLICK_COUNTS;

  /** Accumulators of the job's result. */
  static final String DEAD_LETTERS = "dead_letters";
  static final String ROWS_APPLIED = "rows_applied_";

  /** How often the sink writes what it holds; a checkpoint and the end of input write it too. */
  static final Duration FLUSH_INTERVAL = Duration.ofMillis(200);
  /** The most rows (one per user) the sink holds before it writes them. */
  static final int MAX_BUFFERED_ROWS = 5_000;
  /** Rows per INSERT statement: a few thousand bound values, far below PostgreSQL's 65,535. */
  static final int ROWS_PER_STATEMENT = 500;
  /** Clear timers are rounded up to this, so a user's clicks within it share one timer. */
  static final long CLEAR_TIMER_GRANULARITY_MILLIS = 60_000L;
  private static final int PARALLELISM = 2;
  private static final TypeInformation<Object[]> ROW = TypeInformation.of(Object[].class);

  private NativeStreamingFeatures() {}

  /** The settings of one run. */
  record Settings(String bootstrapServers, String topic, String jdbcUrl, Path checkpoints, Duration checkpointInterval,
      Duration maxOutOfOrderness) {}

  /**
   * Runs the job to the end of the topic as it is now; every row is written when this returns. Every click-count
   * row made is told to {@link StreamingRuns.RowTimes}, which times the end of the stream.
   */
  static JobExecutionResult run(Settings settings) throws Exception {
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.createLocalEnvironment(
            PARALLELISM, Configuration.fromMap(EmbeddedFlink.settings(EmbeddedFlink.LOOPBACK)));
    env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
    env.setMaxParallelism(RunCommand.MAX_PARALLELISM);
    env.enableCheckpointing(settings.checkpointInterval().toMillis());
    env.setStateBackend(new HashMapStateBackend());
    env.getCheckpointConfig().setCheckpointStorage(settings.checkpoints().toUri().toString());
    env.getConfig().enableObjectReuse();

    KafkaSource<byte[]> source =
        KafkaSource.<byte[]>builder()
            .setBootstrapServers(settings.bootstrapServers())
            .setTopics(settings.topic())
            .setGroupId("bench-native-stream-" + UUID.randomUUID())
            .setStartingOffsets(OffsetsInitializer.earliest())
            .setBounded(OffsetsInitializer.latest())
            .setDeserializer(KafkaRecordDeserializationSchema.valueOnly(ByteArrayDeserializer.class))
            .build();
    DataStream<NativeEvent> events =
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "ReadKafka")
            .setParallelism(1)
            .process(new DecodeEvents())
            .name("DecodeEvents")
            .setParallelism(1)
            .assignTimestampsAndWatermarks(
                WatermarkStrategy.<NativeEvent>forBoundedOutOfOrderness(settings.maxOutOfOrderness())
                    .withTimestampAssigner((event, previous) -> event.timestamp))
            .name("EventTime")
            .setParallelism(1);

    events
        .filter(event -> event.ctrCount >= 0)
        .name("CtrEvents")
        .setParallelism(1)
        .keyBy(event -> event.user, BasicTypeInfo.STRING_TYPE_INFO)
        .window(TumblingEventTimeWindows.of(Duration.ofMillis(CTR.windowMillis())))
        .aggregate(new CountCtrEvents(), new CtrRows())
        .name("Ctr")
        .addSink(new UpsertSink(CTR.table(), settings.jdbcUrl()))
        .name("Upsert_" + CTR.table().name());

    events
        .filter(event -> event.click)
        .name("Clicks")
        .setParallelism(1)
        .keyBy(event -> event.user, BasicTypeInfo.STRING_TYPE_INFO)
        .process(new RollingClickCounts(), ROW)
        .name("ClickCounts")
        .map(new RecordRowTimes(), ROW)
        .name("RecordRowTimes")
        .addSink(new UpsertSink(CLICK_COUNTS.precomputedTable(), settings.jdbcUrl()))
        .name("Upsert_" + CLICK_COUNTS.precomputedTable().name());
    return env.execute("bench-native-stream");
  }

  /** One event as the features read it: whose, when, which of the CTR's counts it adds to, and whether a click. */
  public static final class NativeEvent {
    public String user;
    public long timestamp;
    /** The index of the CTR count it adds to, in the declaration's order; -1 for none. */
    public int ctrCount;
    /** Whether the click counts count it. */
    public boolean click;

    public NativeEvent() {}
  }

  /** Avro's single-object encoding to {@link NativeEvent}s, counting what it cannot decode. */
  static final class DecodeEvents extends ProcessFunction<byte[], NativeEvent> {
    private final String ctrField = commonFilterField(CTR.aggregations());
    private final List<String> ctrValues =
        CTR.aggregations().stream().map(aggregation -> aggregation.filter().value()).collect(Collectors.toList());
    private final String clickField = CLICK_COUNTS.filter().field();
    private final String clickValue = CLICK_COUNTS.filter().value();
    private final LongCounter deadLetters = new LongCounter();
    private transient BinaryMessageDecoder<ClickEvent> decoder;
    private transient ClickEvent reused;
    private transient int userPosition;
    private transient int ctrFieldPosition;
    private transient int clickFieldPosition;

    DecodeEvents() {
      if (!CTR.entityField().equals(CLICK_COUNTS.entityField())) {
        throw new IllegalStateException("native-stream keys both features by one field; " + CTR.name() + " groups by "
            + CTR.entityField() + ", " + CLICK_COUNTS.name() + " by " + CLICK_COUNTS.entityField());
      }
    }

    @Override
    public void open(Configuration parameters) {
      getRuntimeContext().addAccumulator(DEAD_LETTERS, deadLetters);
      decoder = ClickEvent.getDecoder();
      reused = new ClickEvent();
      userPosition = position(CTR.entityField());
      ctrFieldPosition = position(ctrField);
      clickFieldPosition = position(clickField);
    }

    @Override
    public void processElement(byte[] payload, Context context, Collector<NativeEvent> out) {
      ClickEvent event;
      try {
        event = decoder.decode(payload, reused);
      } catch (Exception e) {
        // Not Avro (the generator's malformed records are text): a dead letter.
        deadLetters.add(1);
        return;
      }
      int ctrCount = ctrValues.indexOf(String.valueOf(event.get(ctrFieldPosition)));
      boolean click = clickValue.equals(String.valueOf(event.get(clickFieldPosition)));
      if (ctrCount < 0 && !click) {
        return;
      }
      NativeEvent read = new NativeEvent();
      read.user = event.get(userPosition).toString();
      read.timestamp = event.getTimestamp();
      read.ctrCount = ctrCount;
      read.click = click;
      out.collect(read);
    }

    private static int position(String field) {
      return ClickEvent.getClassSchema().getField(field).pos();
    }

    /** The field every count of the CTR filters on: counts of one event field's values. */
    private static String commonFilterField(List<Aggregation> counts) {
      String field = null;
      for (Aggregation count : counts) {
        if (!count.isCount() || count.filter() == null || (field != null && !field.equals(count.filter().field()))) {
          throw new IllegalStateException("native-stream computes counts of one field's values; " + CTR.name()
              + " aggregates " + counts);
        }
        field = count.filter().field();
      }
      return field;
    }
  }

  /** The CTR's counts of one user and window, in the declaration's order. */
  static final class CountCtrEvents implements AggregateFunction<NativeEvent, long[], long[]> {
    private final int counts = CTR.aggregations().size();

    @Override
    public long[] createAccumulator() {
      return new long[counts];
    }

    @Override
    public long[] add(NativeEvent event, long[] accumulator) {
      accumulator[event.ctrCount]++;
      return accumulator;
    }

    @Override
    public long[] getResult(long[] accumulator) {
      return accumulator;
    }

    @Override
    public long[] merge(long[] a, long[] b) {
      long[] merged = a.clone();
      for (int i = 0; i < merged.length; i++) {
        merged[i] += b[i];
      }
      return merged;
    }
  }

  /** A closed window's counts as a {@code ctr_5min} row, in the table's column order; ratios null without events. */
  static final class CtrRows extends ProcessWindowFunction<long[], Object[], String, TimeWindow> {
    private final RowLayout layout = new RowLayout(CTR.table());
    private final int windowStart = layout.index(TumblingAggregation.WINDOW_START);
    private final int windowEnd = layout.index(TumblingAggregation.WINDOW_END);
    private final int[] countColumns =
        CTR.aggregations().stream().mapToInt(count -> layout.index(count.columnPrefix())).toArray();
    private final int[][] ratios =
        CTR.ratios().stream()
            .map(ratio -> new int[] {layout.index(ratio.name()), countIndex(ratio.numerator()),
                countIndex(ratio.denominator())})
            .toArray(int[][]::new);

    @Override
    public void process(String user, Context context, Iterable<long[]> aggregated, Collector<Object[]> out) {
      long[] counts = aggregated.iterator().next();
      Object[] row = layout.newRow(user);
      row[windowStart] = context.window().getStart();
      row[windowEnd] = context.window().getEnd();
      for (int i = 0; i < counts.length; i++) {
        row[countColumns[i]] = counts[i];
      }
      for (int[] ratio : ratios) {
        long denominator = counts[ratio[2]];
        row[ratio[0]] = denominator == 0 ? null : (double) counts[ratio[1]] / denominator;
      }
      out.collect(row);
    }

    private static int countIndex(String column) {
      List<Aggregation> counts = CTR.aggregations();
      for (int i = 0; i < counts.size(); i++) {
        if (counts.get(i).columnPrefix().equals(column)) {
          return i;
        }
      }
      throw new IllegalStateException(CTR.name() + " has no count " + column);
    }
  }

  /**
   * A user's clicks over the longest window as of its latest click, sorted, in {@code times[from, to)}; {@code
   * from == to} once the timer cleared them. Public fields, so that Flink serializes it as a POJO.
   */
  public static final class HeldClicks {
    public long latest;
    public long[] times;
    public int from;
    public int to;

    public HeldClicks() {}

    HeldClicks(long first) {
      latest = first;
      times = new long[8];
    }

    boolean isEmpty() {
      return from == to;
    }

    void clear() {
      times = new long[8];
      from = 0;
      to = 0;
    }

    /** Drops the clicks before {@code bound}. */
    void dropBefore(long bound) {
      while (from < to && times[from] < bound) {
        from++;
      }
    }

    /** Adds a click in order; clicks come nearly sorted, so it is placed from the end. */
    void add(long time) {
      if (to == times.length) {
        int held = to - from;
        long[] room = held * 2 <= times.length ? times : new long[times.length * 2];
        System.arraycopy(times, from, room, 0, held);
        times = room;
        from = 0;
        to = held;
      }
      int at = to;
      while (at > from && times[at - 1] > time) {
        at--;
      }
      System.arraycopy(times, at, times, at + 1, to - at);
      times[at] = time;
      to++;
    }

    /** How many held clicks are at {@code bound} or later. */
    int countFrom(long bound) {
      int low = from;
      int high = to;
      while (low < high) {
        int middle = (low + high) >>> 1;
        if (times[middle] < bound) {
          low = middle + 1;
        } else {
          high = middle;
        }
      }
      return to - low;
    }
  }

  /**
   * The click counts of a user over each declared window as of its latest click time {@code L}, one row per click:
   * clicks in {@code [L - window, L]}. A click before {@code L - longest} changes nothing; one that arrives after
   * the timer cleared the clicks it would need is too late and dropped, as {@code RollingAggregate} does (it counts
   * and dead-letters it). The clear timer is rounded up to {@link #CLEAR_TIMER_GRANULARITY_MILLIS}: clicks are held
   * up to that much event time longer.
   */
  static final class RollingClickCounts extends KeyedProcessFunction<String, NativeEvent, Object[]> {
    private final RowLayout layout = new RowLayout(CLICK_COUNTS.precomputedTable());
    private final int eventTime = layout.index(WindowedAggregation.EVENT_TIME);
    private final int[] countColumns;
    private final long[] windowMillis;
    private final long longestMillis;
    private transient ValueState<HeldClicks> held;

    RollingClickCounts() {
      List<FeatureWindow> windows = CLICK_COUNTS.windows();
      List<String> columns = CLICK_COUNTS.featureColumns();
      if (CLICK_COUNTS.aggregations().size() != 1 || !CLICK_COUNTS.aggregations().get(0).isCount()) {
        throw new IllegalStateException("native-stream counts clicks; " + CLICK_COUNTS.name() + " aggregates "
            + CLICK_COUNTS.aggregations());
      }
      windowMillis = windows.stream().mapToLong(FeatureWindow::lengthMillis).toArray();
      countColumns = columns.stream().mapToInt(layout::index).toArray();
      longestMillis = CLICK_COUNTS.longestWindow().lengthMillis();
    }

    @Override
    public void open(Configuration parameters) {
      held = getRuntimeContext().getState(new ValueStateDescriptor<>("heldClicks", HeldClicks.class));
    }

    @Override
    public void processElement(NativeEvent click, Context context, Collector<Object[]> out) throws Exception {
      long time = click.timestamp;
      HeldClicks clicks = held.value();
      if (clicks != null && time < clicks.latest - longestMillis) {
        return;
      }
      if (clicks != null && clicks.isEmpty() && time - longestMillis <= clicks.latest) {
        return;
      }
      if (clicks == null || time > clicks.latest) {
        if (clicks == null) {
          clicks = new HeldClicks(time);
        }
        clicks.latest = Math.max(clicks.latest, time);
        clicks.dropBefore(clicks.latest - longestMillis);
        context.timerService().registerEventTimeTimer(clearTime(clicks.latest));
      }
      clicks.add(time);
      held.update(clicks);

      Object[] row = layout.newRow(click.user);
      row[eventTime] = clicks.latest;
      for (int w = 0; w < windowMillis.length; w++) {
        row[countColumns[w]] = (long) clicks.countFrom(clicks.latest - windowMillis[w]);
      }
      out.collect(row);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext context, Collector<Object[]> out) throws Exception {
      HeldClicks clicks = held.value();
      if (clicks != null && timestamp > clicks.latest + longestMillis) {
        clicks.clear();
        held.update(clicks);
      }
    }

    /** The first millisecond after {@code latest + longest}, rounded up to the timer granularity. */
    private long clearTime(long latest) {
      long exact = latest + longestMillis + 1;
      return Math.floorDiv(exact + CLEAR_TIMER_GRANULARITY_MILLIS - 1, CLEAR_TIMER_GRANULARITY_MILLIS)
          * CLEAR_TIMER_GRANULARITY_MILLIS;
    }
  }

  /** Tells {@link StreamingRuns.RowTimes} of every row that passes. */
  static final class RecordRowTimes implements MapFunction<Object[], Object[]> {
    @Override
    public Object[] map(Object[] row) {
      StreamingRuns.RowTimes.record();
      return row;
    }
  }

  /** Where each column of a table's rows is, by name, and rows in its column order stamped with the time made. */
  static final class RowLayout implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final List<String> columns;
    private final int updatedAt;

    RowLayout(FeatureTable table) {
      this.columns = table.columnNames();
      this.updatedAt = index(WindowedAggregation.UPDATED_AT);
    }

    int index(String column) {
      int index = columns.indexOf(column);
      if (index < 0) {
        throw new IllegalStateException("no column " + column + " among " + columns);
      }
      return index;
    }

    Object[] newRow(String entity) {
      Object[] row = new Object[columns.size()];
      row[0] = entity;
      row[updatedAt] = System.currentTimeMillis();
      return row;
    }
  }

  /**
   * Keeps the latest row per entity and upserts them in multi-row statements, one transaction per flush. The table
   * must exist; its key is the entity alone (so no statement holds one key twice).
   */
  static final class UpsertSink extends RichSinkFunction<Object[]> implements CheckpointedFunction {
    private final FeatureTable table;
    private final String jdbcUrl;
    private final LongCounter applied = new LongCounter();
    private transient Map<Object, Object[]> latestByEntity;
    private transient Connection connection;
    private transient Map<Integer, PreparedStatement> statements;
    private transient long lastFlush;

    UpsertSink(FeatureTable table, String jdbcUrl) {
      if (table.keyColumns().size() != 1) {
        throw new IllegalArgumentException("the sink keeps one row per entity; " + table + " has the key "
            + table.keyColumns());
      }
      this.table = table;
      this.jdbcUrl = jdbcUrl;
    }

    @Override
    public void open(Configuration parameters) throws SQLException {
      getRuntimeContext().addAccumulator(ROWS_APPLIED + table.name(), applied);
      latestByEntity = new HashMap<>();
      statements = new HashMap<>();
      connection = DriverManager.getConnection(jdbcUrl);
      connection.setAutoCommit(false);
      lastFlush = System.nanoTime();
    }

    @Override
    public void invoke(Object[] row, Context context) throws SQLException {
      latestByEntity.put(row[0], row);
      if (latestByEntity.size() >= MAX_BUFFERED_ROWS || System.nanoTime() - lastFlush >= FLUSH_INTERVAL.toNanos()) {
        flush();
      }
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws SQLException {
      flush();
    }

    @Override
    public void initializeState(FunctionInitializationContext context) {}

    @Override
    public void finish() throws SQLException {
      flush();
    }

    @Override
    public void close() throws SQLException {
      if (connection != null) {
        connection.close();
      }
    }

    private void flush() throws SQLException {
      lastFlush = System.nanoTime();
      if (latestByEntity.isEmpty()) {
        return;
      }
      List<Object[]> rows = new ArrayList<>(latestByEntity.values());
      latestByEntity.clear();
      for (int start = 0; start < rows.size(); start += ROWS_PER_STATEMENT) {
        List<Object[]> chunk = rows.subList(start, Math.min(rows.size(), start + ROWS_PER_STATEMENT));
        PreparedStatement statement = statements.get(chunk.size());
        if (statement == null) {
          statement = connection.prepareStatement(upsertSql(table, chunk.size()));
          statements.put(chunk.size(), statement);
        }
        bind(statement, chunk);
        applied.add(statement.executeUpdate());
      }
      connection.commit();
    }

    private void bind(PreparedStatement statement, List<Object[]> rows) throws SQLException {
      List<FeatureTable.Column> columns = table.columns();
      int parameter = 1;
      for (Object[] row : rows) {
        for (int c = 0; c < columns.size(); c++) {
          Object value = row[c];
          switch (columns.get(c).type()) {
            case KEY:
            case STRING:
              statement.setString(parameter++, (String) value);
              break;
            case BIGINT:
              if (value == null) {
                statement.setNull(parameter++, Types.BIGINT);
              } else {
                statement.setLong(parameter++, (Long) value);
              }
              break;
            default:
              if (value == null) {
                statement.setNull(parameter++, Types.DOUBLE);
              } else {
                statement.setDouble(parameter++, (Double) value);
              }
          }
        }
      }
    }
  }

  /**
   * {@code rows} rows of {@code table} in one statement, replacing a stored row only when the table's replace rule
   * says the incoming one is newer.
   */
  static String upsertSql(FeatureTable table, int rows) {
    List<String> columns = table.columnNames();
    List<String> keys =
        table.keyColumns().stream().map(FeatureTable.Column::name).collect(Collectors.toList());
    String tuple = "(" + String.join(", ", Collections.nCopies(columns.size(), "?")) + ")";
    String updates =
        columns.stream()
            .filter(column -> !keys.contains(column))
            .map(column -> column + " = EXCLUDED." + column)
            .collect(Collectors.joining(", "));
    return "INSERT INTO " + table.name() + " AS stored (" + String.join(", ", columns) + ") VALUES "
        + String.join(", ", Collections.nCopies(rows, tuple)) + " ON CONFLICT (" + String.join(", ", keys)
        + ") DO UPDATE SET " + updates + " WHERE " + newer(table.replaceRule());
  }

  /** The rule's condition, {@code EXCLUDED} the incoming row and {@code stored} the stored one. */
  private static String newer(ReplaceRule rule) {
    if (rule.kind() != ReplaceRule.Kind.ORDERED || rule.timeColumn() == null) {
      throw new IllegalArgumentException("native-stream writes tables ordered by a time column, not " + rule);
    }
    String time = rule.timeColumn();
    String later = "EXCLUDED." + time + " > stored." + time;
    if (rule.progressColumns().isEmpty()) {
      return later;
    }
    String more = sum("EXCLUDED.", rule.progressColumns()) + (rule.replaceOnEqualProgress() ? " >= " : " > ")
        + sum("stored.", rule.progressColumns());
    return later + " OR (EXCLUDED." + time + " = stored." + time + " AND " + more + ")";
  }

  private static String sum(String prefix, List<String> columns) {
    return columns.stream().map(column -> prefix + column).collect(Collectors.joining(" + "));
  }
}
