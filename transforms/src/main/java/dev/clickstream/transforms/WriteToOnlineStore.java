package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.store.FeatureTable;
import dev.clickstream.store.OnlineStore;
import dev.clickstream.store.StoreUnavailableException;
import java.io.Serializable;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.joda.time.Duration;
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
 * class 08, PostgreSQL's 57P01 to 57P03 for a server shutting down or starting, a {@link
 * SQLNonTransientConnectionException} or {@link SQLRecoverableException}, or a {@link SQLTransientException} such as
 * the pool's "Connection is not available, request timed out", a statement timeout or a deadlock that outlived the
 * store's own retries) is retried after 200 ms, doubling to at most 5 s, until the retry budget ({@link
 * #withRetryBudget}, {@link #DEFAULT_RETRY_BUDGET} by default) has passed since the call's first failed attempt
 * began. While the database is down one attempt waits up to the pool's connection timeout (10 s), so a call gives
 * up at most that long after its budget. Any other failure (a constraint, a syntax error, a password the server
 * refuses) is tried {@value #MAX_ATTEMPTS} times over about 3 s, as before. A call that gives up throws with the
 * last error as its cause, failing the bundle: the runner retries the bundle (Flink from its last checkpoint) or, on
 * the Direct runner and on Flink without checkpointing, fails the pipeline. So an outage shorter than the budget
 * loses no row, and a batch written twice (its commit went through, the acknowledgement did not) changes nothing.
 *
 * <p>A call that keeps failing is logged at WARN with the call, the store, the error, how long it has failed and
 * the next wait, at most once per {@link #WARN_INTERVAL} per DoFn instance (DEBUG in between), and at INFO when it
 * succeeds again. Counted in {@code batch_retries} (every retried store call, table creation included) and {@code
 * store_unavailable_ms} (from the start of a call's first failed attempt to its success or giving up, for calls that
 * failed transiently).
 */
public final class WriteToOnlineStore<T> extends PTransform<PCollection<T>, PDone> {
  static final int DEFAULT_BATCH_SIZE = 500;
  /** How long a store call retries failures that say the database is unreachable, from the call's first failure. */
  public static final Duration DEFAULT_RETRY_BUDGET = Duration.standardMinutes(10);
  /** How often a store call that fails for any other reason is tried. */
  static final int MAX_ATTEMPTS = 5;
  static final Duration FIRST_BACKOFF = Duration.millis(200);
  static final Duration MAX_BACKOFF = Duration.standardSeconds(5);
  /** The least time between two WARN lines about one store call that keeps failing. */
  static final Duration WARN_INTERVAL = Duration.standardSeconds(10);
  /** PostgreSQL: the server is shutting down (administrator or crash) or is still starting. */
  private static final Set<String> TRANSIENT_STATES = Set.of("57P01", "57P02", "57P03");
  /** How deep {@link #isTransient} looks into causes. */
  private static final int MAX_CAUSE_DEPTH = 20;

  private final FeatureTable table;
  private final String jdbcUrl;
  private final SerializableFunction<T, Object[]> toRow;
  private final Retention retention;
  private final Duration retryBudget;

  private WriteToOnlineStore(
      FeatureTable table,
      String jdbcUrl,
      SerializableFunction<T, Object[]> toRow,
      Retention retention,
      Duration retryBudget) {
    this.table = table;
    this.jdbcUrl = jdbcUrl;
    this.toRow = toRow;
    this.retention = retention;
    this.retryBudget = retryBudget;
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

  /** Writes to {@code table}; {@code toRow} gives the values in {@link FeatureTable#columns()} order. */
  public static <T> WriteToOnlineStore<T> into(FeatureTable table, SerializableFunction<T, Object[]> toRow) {
    return new WriteToOnlineStore<>(
        requireNonNull(table, "table"), null, requireNonNull(toRow, "toRow"), null, DEFAULT_RETRY_BUDGET);
  }

  public WriteToOnlineStore<T> withJdbcUrl(String url) {
    if (url == null || !url.startsWith("jdbc:")) {
      throw new IllegalArgumentException("jdbcUrl must be a JDBC URL (jdbc:h2:..., jdbc:postgresql:..., jdbc:mariadb:...), got " + url);
    }
    return new WriteToOnlineStore<>(table, url, toRow, retention, retryBudget);
  }

  /**
   * After each batch, deletes the rows of the batch's entities whose {@code timeColumn} is older than {@code
   * retentionMillis} before the entity's latest {@code timeColumn} in the batch: how the raw events of the
   * on-demand pattern stay as small as the longest window needs. Counted in {@code rows_expired}.
   */
  public WriteToOnlineStore<T> withRetention(String entityColumn, String timeColumn, long retentionMillis) {
    table.column(entityColumn);
    table.column(timeColumn);
    if (retentionMillis <= 0) {
      throw new IllegalArgumentException("retention must be positive, got " + retentionMillis + " ms");
    }
    return new WriteToOnlineStore<>(
        table, jdbcUrl, toRow, new Retention(entityColumn, timeColumn, retentionMillis), retryBudget);
  }

  /**
   * How long a store call keeps retrying failures that say the database is unreachable or the connection broke,
   * counted from the call's first failure ({@link #DEFAULT_RETRY_BUDGET} unless set): the longest outage the write
   * rides out before it fails the bundle.
   */
  public WriteToOnlineStore<T> withRetryBudget(Duration budget) {
    if (budget == null || !budget.isLongerThan(Duration.ZERO)) {
      throw new IllegalArgumentException("retryBudget must be a positive duration, got " + budget);
    }
    return new WriteToOnlineStore<>(table, jdbcUrl, toRow, retention, budget);
  }

  @Override
  public PDone expand(PCollection<T> rows) {
    if (jdbcUrl == null) {
      throw new IllegalStateException("WriteToOnlineStore needs withJdbcUrl(...)");
    }
    rows.apply("UpsertRows", ParDo.of(new UpsertFn<>(table, jdbcUrl, toRow, retention, retryBudget)));
    return PDone.in(rows.getPipeline());
  }

  /**
   * Whether {@code failure} says the database could not be reached or the connection broke, so that the same call
   * can succeed once the database is back: SQLState class 08 (connection exception), PostgreSQL's 57P01, 57P02 and
   * 57P03, or a {@link SQLTransientException}, {@link SQLRecoverableException} or {@link
   * SQLNonTransientConnectionException} (the class JDBC gives SQLState 08; H2 and MariaDB throw it when the server
   * went away).
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

  static final class UpsertFn<T> extends DoFn<T, Void> {
    private static final Logger LOG = LoggerFactory.getLogger(UpsertFn.class);

    private final FeatureTable table;
    private final String jdbcUrl;
    private final SerializableFunction<T, Object[]> toRow;
    private final Counter applied = Metrics.counter("WriteToOnlineStore", "rows_applied");
    private final Counter skipped = Metrics.counter("WriteToOnlineStore", "rows_skipped_not_newer");
    private final Counter retries = Metrics.counter("WriteToOnlineStore", "batch_retries");
    private final Counter unavailable = Metrics.counter("WriteToOnlineStore", "store_unavailable_ms");
    private final Counter expired = Metrics.counter("WriteToOnlineStore", "rows_expired");
    private final Retention retention;
    private final long retryBudgetMillis;

    private transient OnlineStore store;
    private transient List<Object[]> batch;
    /** Retries and unavailable time not yet added to the counters: {@code @Setup} runs outside any bundle. */
    private transient long uncountedRetries;
    private transient long uncountedUnavailableMillis;

    UpsertFn(
        FeatureTable table,
        String jdbcUrl,
        SerializableFunction<T, Object[]> toRow,
        Retention retention,
        Duration retryBudget) {
      this.table = table;
      this.jdbcUrl = jdbcUrl;
      this.toRow = toRow;
      this.retention = retention;
      this.retryBudgetMillis = retryBudget.getMillis();
    }

    @Setup
    public void setup() throws SQLException, InterruptedException {
      store = OnlineStore.forUrl(jdbcUrl);
      withRetries("creating table " + table.name(), () -> {
        store.ensureTable(table);
        return null;
      });
    }

    @StartBundle
    public void startBundle() {
      batch = new ArrayList<>();
      countRetries();
    }

    @ProcessElement
    public void processElement(@Element T element) throws Exception {
      batch.add(toRow.apply(element));
      if (batch.size() >= DEFAULT_BATCH_SIZE) {
        flush();
      }
    }

    @FinishBundle
    public void finishBundle() throws Exception {
      flush();
    }

    /** Per entity in the batch: its latest time in the batch, less the retention. */
    private Map<String, Long> expiryBounds() {
      List<String> names = table.columnNames();
      int entityIndex = names.indexOf(retention.entityColumn);
      int timeIndex = names.indexOf(retention.timeColumn);
      Map<String, Long> bounds = new HashMap<>();
      for (Object[] row : batch) {
        long bound = ((Number) row[timeIndex]).longValue() - retention.millis;
        bounds.merge((String) row[entityIndex], bound, Math::max);
      }
      return bounds;
    }

    /**
     * Upserts the batch, then deletes what it expired, each retried on its own: a failed delete never writes the
     * rows again, so the counters count each row once.
     */
    private void flush() throws InterruptedException, SQLException {
      if (batch.isEmpty()) {
        return;
      }
      try {
        int written =
            withRetries("upsert of " + rows(batch.size()) + " into " + table.name(), () -> store.upsert(table, batch));
        applied.inc(written);
        skipped.inc(batch.size() - written);
        if (retention != null) {
          Map<String, Long> bounds = expiryBounds();
          expired.inc(
              withRetries(
                  "delete of expired rows from " + table.name(),
                  () -> store.deleteBefore(table, retention.entityColumn, bounds, retention.timeColumn)));
        }
        batch.clear();
      } finally {
        countRetries();
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
     * retry budget has passed since the first failed attempt began, others up to {@link #MAX_ATTEMPTS} attempts.
     */
    private <R> R withRetries(String what, StoreCall<R> call) throws SQLException, InterruptedException {
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
            if (otherFailures == MAX_ATTEMPTS) {
              countUnavailable(transientFailures, failedMillis);
              throw new SQLException(
                  "giving up on " + what + " in the online store " + store.redactedUrl() + " after " + attempts
                      + ", " + MAX_ATTEMPTS + " of them with an error that is not a connection failure; the runner"
                      + " will retry the bundle or fail the pipeline. Last error: " + describe(e),
                  e);
            }
            LOG.warn("{} in the online store {} failed ({}, {} of {} allowed with an error that is not a connection"
                    + " failure), retrying in {} ms: {}",
                what, store.redactedUrl(), attempts, otherFailures, MAX_ATTEMPTS, backoffMillis, describe(e));
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
