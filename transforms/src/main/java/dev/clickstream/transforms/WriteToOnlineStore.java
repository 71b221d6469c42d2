package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clickstream.schemas.DeadLetter;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreUnavailableException;
import java.io.Serializable;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.DefaultTrigger;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.Row;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Upserts feature rows into a JDBC online store table, creating the table when it is missing.
 *
 * <p>Rows are written in batches of up to {@link #DEFAULT_BATCH_SIZE} per bundle, on the JVM's shared connection
 * pool. Runners retry failed bundles, so every write is an idempotent upsert guarded by the table's replace
 * condition ({@link FeatureTable#replaceCondition()}): a retried, replayed or out-of-order row never replaces a
 * newer one. Counted in the metrics {@code WriteToOnlineStore/rows_applied} and {@code rows_skipped_not_newer}; a
 * batch whose first attempt was committed but not acknowledged before the connection broke counts as skipped on
 * the attempt that follows.
 *
 * <p><b>Store outages.</b> Each call to the store (creating the table in {@code @Setup}, upserting a batch,
 * deleting expired rows) is retried in place, blocking the DoFn, so input waits in the runner instead of being
 * dropped. A failure that says the database is unreachable or the connection broke ({@link #isTransient}: SQLState
 * class 08, a socket timeout included, PostgreSQL's 57P01 to 57P03 for a server shutting down or starting and 57014
 * for a statement past its query timeout, a {@link SQLNonTransientConnectionException} or {@link
 * SQLRecoverableException}, or a {@link SQLTransientException} such as the pool's "Connection is not available,
 * request timed out", a statement timeout or a deadlock that outlived the store's own retries) is retried after 200
 * ms, doubling to at most 5 s, until the retry budget ({@link #withRetryBudget}, {@link #DEFAULT_RETRY_BUDGET} by
 * default) has passed since the call's first failed attempt began. While the database is down one attempt waits up
 * to the pool's connection timeout (10 s), so a call gives up at most that long after its budget. Any other failure
 * (a syntax error, a password the server refuses) is tried {@value #MAX_ATTEMPTS} times over about 3 s, one that
 * blames the row's data once (see below). A call that gives up on a connection failure throws
 * with the last error as its cause, failing the bundle: the runner retries the bundle (Flink from its last
 * checkpoint) or, on the Direct runner and on Flink without checkpointing, fails the pipeline. So an outage shorter
 * than the budget loses no row, and a batch written twice (its commit went through, the acknowledgement did not)
 * changes nothing.
 *
 * <p><b>Rows the store refuses.</b> An upsert that fails for any other reason never fails the bundle: the batch is
 * split in halves, each written again (once; connection failures still retried as above), and a half that fails is
 * split again, down to single rows. A single row that still fails after {@value #MAX_ATTEMPTS} attempts, or at once
 * when the error is about its data ({@link #isRowError}: SQLState class 22 or 23, or a row {@link OnlineStore#upsert}
 * refuses before writing, such as a null in a column that is not nullable or a NaN), is a dead letter: stage {@value
 * #STAGE}, reason {@value #REJECTED}, a detail naming the table and the error, the row as JSON (column to value) as
 * its payload, in the global window. Every other row of the batch is written. Counted in {@code rows_rejected};
 * {@code rows_applied + rows_skipped_not_newer + rows_rejected} is every row given. A rejected row moves no
 * retention bound. An error that blames the statement, not a row ({@link #isStatementError}: a missing table or
 * privilege), would fail every row alike: the batch is not split, each of its rows is a dead letter at once, with a
 * detail that says so.
 *
 * <p>Takes rows of {@link FeatureRows#schemaOf} the table, which {@link FeatureRows} validated when it made them;
 * {@link #expand} checks the schema once.
 *
 * <p><b>Restating.</b> {@link #withRestate} writes every row over the stored one, past the table's replace
 * condition ({@link OnlineStore#restate}): for a bounded rerun over corrected input, whose rows may hold fewer
 * events than the ones they correct. Not for a live stream, where a late, smaller pane would replace a fuller one.
 *
 * <p>A call that keeps failing is logged at WARN with the call, the store, the error, how long it has failed and
 * the next wait, at most once per {@link #WARN_INTERVAL} per DoFn instance (DEBUG in between), and at INFO when it
 * succeeds again. Counted in {@code batch_retries} (every retried store call, table creation included) and {@code
 * store_unavailable_ms} (from the start of a call's first failed attempt to its success or giving up, for calls that
 * failed transiently).
 */
public final class WriteToOnlineStore extends PTransform<PCollection<Row>, PCollection<DeadLetter>> {
  /** The stage of the dead letters for rows the store refused. */
  public static final String STAGE = "WriteToOnlineStore";
  /** The reason of the dead letters for rows the store refused. */
  public static final String REJECTED = "store_rejected";
  static final int DEFAULT_BATCH_SIZE = 500;
  /** How long a store call retries failures that say the database is unreachable, from the call's first failure. */
  public static final Duration DEFAULT_RETRY_BUDGET = Duration.standardMinutes(10);
  /** How often a store call that fails for any other reason is tried. */
  static final int MAX_ATTEMPTS = 5;
  static final Duration FIRST_BACKOFF = Duration.millis(200);
  static final Duration MAX_BACKOFF = Duration.standardSeconds(5);
  /** The least time between two WARN lines about one store call that keeps failing. */
  static final Duration WARN_INTERVAL = Duration.standardSeconds(10);
  /**
   * PostgreSQL: a statement cancelled, here by its query timeout (a lock held too long, a database that stopped
   * answering): worth running again.
   */
  private static final String QUERY_CANCELED = "57014";
  /** PostgreSQL: the server is shutting down (administrator or crash) or is still starting; a query timeout. */
  private static final Set<String> TRANSIENT_STATES = Set.of("57P01", "57P02", "57P03", QUERY_CANCELED);
  /** SQLState classes that blame the row's data: data exception, integrity constraint violation. */
  private static final Set<String> ROW_ERROR_CLASSES = Set.of("22", "23");
  /**
   * SQLState classes that blame the statement or the session, not a row: syntax error or access rule violation
   * (a missing table or privilege), invalid authorization, catalog or schema, feature not supported.
   */
  private static final Set<String> STATEMENT_ERROR_CLASSES = Set.of("42", "28", "3D", "3F", "0A");
  /** A duplicate key from a concurrent insert: a race, not the row's fault. */
  private static final String UNIQUE_VIOLATION = "23505";
  /** How deep {@link #isTransient} looks into causes. */
  private static final int MAX_CAUSE_DEPTH = 20;

  private final FeatureTable table;
  private final String jdbcUrl;
  private final Retention retention;
  private final Duration retryBudget;
  private final boolean restate;

  private WriteToOnlineStore(
      FeatureTable table,
      String jdbcUrl,
      Retention retention,
      Duration retryBudget,
      boolean restate) {
    this.table = table;
    this.jdbcUrl = jdbcUrl;
    this.retention = retention;
    this.retryBudget = retryBudget;
    this.restate = restate;
  }

  /**
   * Which rows a table keeps: per entity, those whose time is at most {@code millis} older than the entity's latest
   * row written. Event time, not the wall clock, so replaying an old file keeps what its features read.
   */
  static final class Retention implements Serializable {
    private static final long serialVersionUID = 1L;
    final String entityColumn;
    final String timeColumn;
    final long millis;

    Retention(String entityColumn, String timeColumn, long millis) {
      this.entityColumn = entityColumn;
      this.timeColumn = timeColumn;
      this.millis = millis;
    }
  }

  /** Writes rows of {@code table}, whose schema is {@link FeatureRows#schemaOf} the table's. */
  public static WriteToOnlineStore into(FeatureTable table) {
    return new WriteToOnlineStore(requireNonNull(table, "table"), null, null, DEFAULT_RETRY_BUDGET, false);
  }

  public WriteToOnlineStore withJdbcUrl(String url) {
    if (url == null || !url.startsWith("jdbc:")) {
      throw new IllegalArgumentException("jdbcUrl must be a JDBC URL (jdbc:h2:..., jdbc:postgresql:..., jdbc:mariadb:...), got " + url);
    }
    return new WriteToOnlineStore(table, url, retention, retryBudget, restate);
  }

  /**
   * After each batch, deletes the rows of the batch's entities whose {@code timeColumn} is older than {@code
   * retentionMillis} before the entity's latest {@code timeColumn} in the batch: how the raw events of the
   * on-demand pattern stay as small as the longest window needs. Counted in {@code rows_expired}.
   */
  public WriteToOnlineStore withRetention(String entityColumn, String timeColumn, long retentionMillis) {
    table.column(entityColumn);
    table.column(timeColumn);
    if (retentionMillis <= 0) {
      throw new IllegalArgumentException("retention must be positive, got " + retentionMillis + " ms");
    }
    return new WriteToOnlineStore(
        table, jdbcUrl, new Retention(entityColumn, timeColumn, retentionMillis), retryBudget, restate);
  }

  /**
   * How long a store call keeps retrying failures that say the database is unreachable or the connection broke,
   * counted from the call's first failure ({@link #DEFAULT_RETRY_BUDGET} unless set): the longest outage the write
   * rides out before it fails the bundle.
   */
  public WriteToOnlineStore withRetryBudget(Duration budget) {
    if (budget == null || !budget.isLongerThan(Duration.ZERO)) {
      throw new IllegalArgumentException("retryBudget must be a positive duration, got " + budget);
    }
    return new WriteToOnlineStore(table, jdbcUrl, retention, budget, restate);
  }

  /**
   * With {@code true}, every row replaces the stored row of its key whatever the table's replace condition says
   * (see the class comment): for a bounded rerun over corrected input. {@code false}, the default, keeps the guard.
   */
  public WriteToOnlineStore withRestate(boolean restate) {
    return new WriteToOnlineStore(table, jdbcUrl, retention, retryBudget, restate);
  }

  /** Writes the rows; returns the dead letters of the rows the store refused, in the global window. */
  @Override
  public PCollection<DeadLetter> expand(PCollection<Row> rows) {
    if (jdbcUrl == null) {
      throw new IllegalStateException("WriteToOnlineStore needs withJdbcUrl(...)");
    }
    // Rows were validated when they were made (FeatureRows); here only that they are this table's.
    Schema expected = FeatureRows.schemaOf(table);
    if (!rows.hasSchema() || !rows.getSchema().equals(expected)) {
      throw new IllegalArgumentException("WriteToOnlineStore into " + table.name() + " takes rows of schema "
          + expected + ", got " + (rows.hasSchema() ? rows.getSchema() : rows.getCoder()));
    }
    // Dead letters of every step share one sink in the global window, whatever the rows' windows are.
    return rows.apply("UpsertRows", ParDo.of(new UpsertFn(this)))
        .setCoder(AvroCoder.of(DeadLetter.class))
        .apply(
            "RejectedIntoGlobalWindow",
            Window.<DeadLetter>into(new GlobalWindows())
                .triggering(DefaultTrigger.of())
                .withAllowedLateness(Duration.ZERO)
                .discardingFiredPanes());
  }

  /**
   * Whether {@code failure} says the database could not be reached or the connection broke, so that the same call
   * can succeed once the database is back: SQLState class 08 (connection exception, and a socket timeout on a
   * database that stopped answering), PostgreSQL's 57P01, 57P02, 57P03 and 57014 (query timeout), or a {@link
   * SQLTransientException}, {@link SQLRecoverableException} or {@link SQLNonTransientConnectionException} (the
   * class JDBC gives SQLState 08; H2 and MariaDB throw it when the server went away).
   *
   * <p>The innermost {@link SQLException} that says what it is (has a SQLState or is a subclass) decides, looking
   * through causes, {@link StoreUnavailableException} and a failed batch's next exception. The pool's "Connection
   * is not available, request timed out" wraps the driver's last failure to connect: "connection refused" is
   * transient, "password authentication failed" is not. A bare pool timeout, with every connection busy, is.
   */
  static boolean isTransient(Throwable failure) {
    SQLException decisive = decisiveSqlException(failure);
    if (decisive == null) {
      return false;
    }
    String state = decisive.getSQLState();
    return decisive instanceof SQLTransientException
        || decisive instanceof SQLRecoverableException
        || decisive instanceof SQLNonTransientConnectionException
        || (state != null && (state.startsWith("08") || TRANSIENT_STATES.contains(state)));
  }

  /**
   * Whether {@code failure} blames the row's data, so that writing it again cannot help: a row {@link
   * OnlineStore#upsert} refuses before writing ({@link IllegalArgumentException}), or SQLState class 22 (data
   * exception, such as PostgreSQL's 22021 for a NUL in a string) or 23 (integrity constraint), except a duplicate
   * key, which a concurrent insert causes.
   */
  static boolean isRowError(Throwable failure) {
    if (failure instanceof IllegalArgumentException) {
      return true;
    }
    SQLException decisive = decisiveSqlException(failure);
    String state = decisive == null ? null : decisive.getSQLState();
    return state != null && state.length() >= 2 && ROW_ERROR_CLASSES.contains(state.substring(0, 2))
        && !state.equals(UNIQUE_VIOLATION);
  }

  /**
   * Whether {@code failure} blames the statement rather than any row (a missing table or privilege, SQLState class
   * 42, 28, 3D, 3F or 0A): every row of a batch fails alike, so splitting it cannot single out a row.
   */
  static boolean isStatementError(Throwable failure) {
    SQLException decisive = decisiveSqlException(failure);
    String state = decisive == null ? null : decisive.getSQLState();
    return state != null && state.length() >= 2 && STATEMENT_ERROR_CLASSES.contains(state.substring(0, 2));
  }

  /** The innermost SQLException of {@code failure} that has a SQLState or is a subclass; null when none has. */
  private static SQLException decisiveSqlException(Throwable failure) {
    SQLException decisive = null;
    Throwable current = failure;
    for (int depth = 0; current != null && depth < MAX_CAUSE_DEPTH; depth++) {
      if (current instanceof SQLException
          && (((SQLException) current).getSQLState() != null || current.getClass() != SQLException.class)) {
        decisive = (SQLException) current;
      }
      if (current.getCause() != null) {
        current = current.getCause();
      } else {
        // A failed batch (BatchUpdateException) carries the failing statement's error as its next exception.
        current = current instanceof SQLException ? ((SQLException) current).getNextException() : null;
      }
    }
    return decisive;
  }

  /** {@code failure} as its decisive SQLException's class, SQLState and message, for logs and messages. */
  static String describe(Throwable failure) {
    SQLException decisive = decisiveSqlException(failure);
    if (decisive == null) {
      return failure.toString();
    }
    return decisive.getClass().getSimpleName() + " [SQLState " + decisive.getSQLState() + "]: "
        + decisive.getMessage();
  }

  private static String seconds(long millis) {
    return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
  }

  /** One call to the store, repeated by {@link UpsertFn#withRetries}. */
  @FunctionalInterface
  private interface StoreCall<R> {
    R call() throws SQLException;
  }

  /** A row waiting in a batch, with where its element was, for a dead letter when the store refuses it. */
  private static final class PendingRow {
    final Object[] values;
    final Instant timestamp;
    final BoundedWindow window;

    PendingRow(Object[] values, Instant timestamp, BoundedWindow window) {
      this.values = values;
      this.timestamp = timestamp;
      this.window = window;
    }
  }

  /** A refused row's dead letter, output when the bundle finishes. */
  private static final class Rejection {
    final DeadLetter deadLetter;
    final PendingRow row;

    Rejection(DeadLetter deadLetter, PendingRow row) {
      this.deadLetter = deadLetter;
      this.row = row;
    }
  }

  static final class UpsertFn extends DoFn<Row, DeadLetter> {
    private static final Logger LOG = LoggerFactory.getLogger(UpsertFn.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FeatureTable table;
    private final String jdbcUrl;
    private final Counter applied = Metrics.counter("WriteToOnlineStore", "rows_applied");
    private final Counter skipped = Metrics.counter("WriteToOnlineStore", "rows_skipped_not_newer");
    private final Counter rejected = Metrics.counter("WriteToOnlineStore", "rows_rejected");
    private final Counter retries = Metrics.counter("WriteToOnlineStore", "batch_retries");
    private final Counter unavailable = Metrics.counter("WriteToOnlineStore", "store_unavailable_ms");
    private final Counter expired = Metrics.counter("WriteToOnlineStore", "rows_expired");
    private final Retention retention;
    private final long retryBudgetMillis;
    private final boolean restate;

    private transient OnlineStore store;
    private transient List<PendingRow> batch;
    private transient List<Rejection> rejections;
    /** Retries and unavailable time not yet added to the counters: {@code @Setup} runs outside any bundle. */
    private transient long uncountedRetries;
    private transient long uncountedUnavailableMillis;

    /** Copies what it needs of {@code write}: the DoFn holds no reference to the transform. */
    UpsertFn(WriteToOnlineStore write) {
      this.table = write.table;
      this.jdbcUrl = write.jdbcUrl;
      this.retention = write.retention;
      this.retryBudgetMillis = write.retryBudget.getMillis();
      this.restate = write.restate;
    }

    @Setup
    public void setup() throws SQLException, InterruptedException {
      store = OnlineStore.forUrl(jdbcUrl);
      withRetries("creating table " + table.name(), MAX_ATTEMPTS, () -> {
        store.ensureTable(table);
        return null;
      });
    }

    @StartBundle
    public void startBundle() {
      batch = new ArrayList<>();
      rejections = new ArrayList<>();
      countRetries();
    }

    @ProcessElement
    public void processElement(
        @Element Row row, @Timestamp Instant timestamp, BoundedWindow window) throws Exception {
      batch.add(new PendingRow(row.getValues().toArray(), timestamp, window));
      if (batch.size() >= DEFAULT_BATCH_SIZE) {
        flush();
      }
    }

    @FinishBundle
    public void finishBundle(FinishBundleContext context) throws Exception {
      flush();
      for (Rejection rejection : rejections) {
        context.output(rejection.deadLetter, rejection.row.timestamp, rejection.row.window);
      }
      rejections.clear();
    }

    /** Per entity among {@code rows}: its latest time, less the retention. */
    private Map<String, Long> expiryBounds(List<PendingRow> rows) {
      List<String> names = table.columnNames();
      int entityIndex = names.indexOf(retention.entityColumn);
      int timeIndex = names.indexOf(retention.timeColumn);
      Map<String, Long> bounds = new HashMap<>();
      for (PendingRow row : rows) {
        long bound = ((Number) row.values[timeIndex]).longValue() - retention.millis;
        bounds.merge((String) row.values[entityIndex], bound, Math::max);
      }
      return bounds;
    }

    /**
     * Upserts the batch, then deletes what its written rows expired, each retried on its own: a failed delete never
     * writes the rows again, so the counters count each row once.
     */
    private void flush() throws InterruptedException, SQLException {
      if (batch.isEmpty()) {
        return;
      }
      try {
        List<PendingRow> written = new ArrayList<>();
        int rejectedBefore = rejections.size();
        int appliedRows = write(batch, MAX_ATTEMPTS, written);
        applied.inc(appliedRows);
        skipped.inc(written.size() - appliedRows);
        rejected.inc(rejections.size() - rejectedBefore);
        if (retention != null && !written.isEmpty()) {
          Map<String, Long> bounds = expiryBounds(written);
          expired.inc(
              withRetries(
                  "delete of expired rows from " + table.name(),
                  MAX_ATTEMPTS,
                  () -> store.deleteBefore(table, retention.entityColumn, bounds, retention.timeColumn)));
        }
        batch.clear();
      } finally {
        countRetries();
      }
    }

    /**
     * Writes {@code rows}, splitting around the rows the store refuses (see the class comment), which become
     * rejections; adds the rows written to {@code written}. A failure other than a connection failure is tried up to
     * {@code attempts} times before the rows are split.
     *
     * @return how many rows were applied
     */
    private int write(List<PendingRow> rows, int attempts, List<PendingRow> written)
        throws InterruptedException, SQLException {
      List<Object[]> values = new ArrayList<>(rows.size());
      for (PendingRow row : rows) {
        values.add(row.values);
      }
      Exception refusal;
      try {
        int appliedRows =
            withRetries(
                (restate ? "restating " : "upsert of ") + rows(rows.size()) + " into " + table.name(),
                attempts,
                () -> restate ? store.restate(table, values) : store.upsert(table, values));
        written.addAll(rows);
        return appliedRows;
      } catch (IllegalArgumentException e) {
        refusal = e;
      } catch (SQLException e) {
        if (isTransient(e)) {
          throw e;
        }
        refusal = e;
      }
      if (isStatementError(refusal)) {
        LOG.warn("the online store {} refused {} for {} with an error about the statement, not a row; they are dead"
                + " letters: {}", store.redactedUrl(), rows(rows.size()), table.name(), describe(refusal));
        String detail =
            "the online store refused every row of this row's batch for table " + table.name() + ": "
                + describe(refusal) + ". The error is about the statement, not the row: fix the table or the"
                + " privileges of the store's user, then replay the dead letters.";
        for (PendingRow row : rows) {
          rejections.add(new Rejection(DeadLetters.of(STAGE, REJECTED, detail, asJson(row.values)), row));
        }
        return 0;
      }
      if (rows.size() == 1) {
        reject(rows.get(0), refusal);
        return 0;
      }
      LOG.debug("the online store {} refused a batch of {} for {}; splitting it to find the rows at fault: {}",
          store.redactedUrl(), rows(rows.size()), table.name(), describe(refusal));
      // Halves are tried once: only a single row gets the retries, so a bad row costs one retried write.
      int half = rows.size() / 2;
      List<PendingRow> first = rows.subList(0, half);
      List<PendingRow> second = rows.subList(half, rows.size());
      return write(first, attemptsFor(first), written) + write(second, attemptsFor(second), written);
    }

    private static int attemptsFor(List<PendingRow> rows) {
      return rows.size() == 1 ? MAX_ATTEMPTS : 1;
    }

    private void reject(PendingRow row, Exception refusal) {
      String detail =
          "the online store refused this row of table " + table.name() + ": " + describe(refusal)
              + "; the other rows of its batch were written. Fix the row's values at the source and replay it.";
      LOG.warn("{} (online store {})", detail, store.redactedUrl());
      rejections.add(new Rejection(DeadLetters.of(STAGE, REJECTED, detail, asJson(row.values)), row));
    }

    /** The row as a JSON object, column name to value, in table order. */
    private String asJson(Object[] values) {
      Map<String, Object> columns = new LinkedHashMap<>();
      List<String> names = table.columnNames();
      for (int i = 0; i < values.length; i++) {
        columns.put(i < names.size() ? names.get(i) : "column_" + (i + 1), values[i]);
      }
      try {
        return JSON.writeValueAsString(columns);
      } catch (JsonProcessingException e) {
        // Values are strings, numbers and nulls, which always render; keep the row readable regardless.
        return java.util.Arrays.toString(values);
      }
    }

    private void countRetries() {
      retries.inc(uncountedRetries);
      unavailable.inc(uncountedUnavailableMillis);
      uncountedRetries = 0;
      uncountedUnavailableMillis = 0;
    }

    /**
     * Runs {@code call}, retrying it as the class comment says: transient failures ({@link #isTransient}) until the
     * retry budget has passed since the first failed attempt began, others up to {@code maxOtherAttempts} attempts,
     * or at once when the error blames the row's data ({@link #isRowError}).
     */
    private <R> R withRetries(String what, int maxOtherAttempts, StoreCall<R> call)
        throws SQLException, InterruptedException {
      long firstFailureNanos = 0;
      long lastWarningNanos = 0;
      int transientFailures = 0;
      int otherFailures = 0;
      long backoffMillis = FIRST_BACKOFF.getMillis();
      while (true) {
        long attemptNanos = System.nanoTime();
        try {
          R result = call.call();
          if (transientFailures + otherFailures > 0) {
            long failedMillis = millisSince(firstFailureNanos);
            countUnavailable(transientFailures, failedMillis);
            LOG.info("{} in the online store {} succeeded after failing for {} ({})",
                what, store.redactedUrl(), seconds(failedMillis), attempts(transientFailures + otherFailures + 1));
          }
          return result;
        } catch (SQLException | StoreUnavailableException e) {
          if (transientFailures + otherFailures == 0) {
            // From the start of the attempt: while the database is down, one attempt waits for the pool's timeout.
            firstFailureNanos = attemptNanos;
          }
          long failedMillis = millisSince(firstFailureNanos);
          String attempts = attempts(transientFailures + otherFailures + 1);
          if (isTransient(e)) {
            transientFailures++;
            if (failedMillis >= retryBudgetMillis) {
              countUnavailable(transientFailures, failedMillis);
              throw new SQLException(
                  "giving up on " + what + ": the online store " + store.redactedUrl() + " has been unreachable for "
                      + seconds(failedMillis) + " (" + attempts + "), beyond the retry budget of "
                      + seconds(retryBudgetMillis) + "; the runner will retry the bundle or fail the pipeline. Last"
                      + " error: " + describe(e),
                  e);
            }
            // The last wait is cut short, so that the last attempt starts when the budget ends.
            backoffMillis = Math.min(backoffMillis, retryBudgetMillis - failedMillis);
            long now = System.nanoTime();
            if (transientFailures == 1 || now - lastWarningNanos >= WARN_INTERVAL.getMillis() * 1_000_000) {
              lastWarningNanos = now;
              LOG.warn("{} failed: the online store {} is unreachable or the connection broke, failing for {} ({});"
                      + " retrying in {} ms, giving up after {}: {}",
                  what, store.redactedUrl(), seconds(failedMillis), attempts, backoffMillis,
                  seconds(retryBudgetMillis), describe(e));
            } else {
              LOG.debug("{} failed again, failing for {} ({}); retrying in {} ms: {}",
                  what, seconds(failedMillis), attempts, backoffMillis, describe(e));
            }
          } else {
            otherFailures++;
            if (otherFailures >= maxOtherAttempts || isRowError(e)) {
              countUnavailable(transientFailures, failedMillis);
              throw new SQLException(
                  "giving up on " + what + " in the online store " + store.redactedUrl() + " after " + attempts
                      + ", " + otherFailures + " of them with an error that is not a connection failure; the runner"
                      + " will retry the bundle or fail the pipeline. Last error: " + describe(e),
                  e);
            }
            LOG.warn("{} in the online store {} failed ({}, {} of {} allowed with an error that is not a connection"
                    + " failure), retrying in {} ms: {}",
                what, store.redactedUrl(), attempts, otherFailures, maxOtherAttempts, backoffMillis, describe(e));
          }
          uncountedRetries++;
          Thread.sleep(backoffMillis);
          backoffMillis = Math.min(backoffMillis * 2, MAX_BACKOFF.getMillis());
        }
      }
    }

    private static String rows(int count) {
      return count == 1 ? "1 row" : count + " rows";
    }

    private static String attempts(int count) {
      return count == 1 ? "1 attempt" : count + " attempts";
    }

    private void countUnavailable(int transientFailures, long failedMillis) {
      if (transientFailures > 0) {
        uncountedUnavailableMillis += failedMillis;
      }
    }

    private static long millisSince(long nanos) {
      return (System.nanoTime() - nanos) / 1_000_000;
    }
  }
}
