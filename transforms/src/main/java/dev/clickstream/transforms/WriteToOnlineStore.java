package dev.clickstream.transforms;

import static java.util.Objects.requireNonNull;

import dev.clickstream.store.FeatureTable;
import dev.clickstream.store.OnlineStore;
import java.io.Serializable;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
 * newer one. A failed batch is retried with backoff before the bundle fails. Counted in the metrics
 * {@code WriteToOnlineStore/rows_applied} and {@code rows_skipped_not_newer}.
 */
public final class WriteToOnlineStore<T> extends PTransform<PCollection<T>, PDone> {
  static final int DEFAULT_BATCH_SIZE = 500;
  private static final int MAX_ATTEMPTS = 5;
  private static final Duration FIRST_BACKOFF = Duration.millis(200);

  private final FeatureTable table;
  private final String jdbcUrl;
  private final SerializableFunction<T, Object[]> toRow;
  private final Retention retention;

  private WriteToOnlineStore(
      FeatureTable table, String jdbcUrl, SerializableFunction<T, Object[]> toRow, Retention retention) {
    this.table = table;
    this.jdbcUrl = jdbcUrl;
    this.toRow = toRow;
    this.retention = retention;
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
    return new WriteToOnlineStore<>(requireNonNull(table, "table"), null, requireNonNull(toRow, "toRow"), null);
  }

  public WriteToOnlineStore<T> withJdbcUrl(String url) {
    if (url == null || !url.startsWith("jdbc:")) {
      throw new IllegalArgumentException("jdbcUrl must be a JDBC URL (jdbc:h2:..., jdbc:postgresql:..., jdbc:mariadb:...), got " + url);
    }
    return new WriteToOnlineStore<>(table, url, toRow, retention);
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
        table, jdbcUrl, toRow, new Retention(entityColumn, timeColumn, retentionMillis));
  }

  @Override
  public PDone expand(PCollection<T> rows) {
    if (jdbcUrl == null) {
      throw new IllegalStateException("WriteToOnlineStore needs withJdbcUrl(...)");
    }
    rows.apply("UpsertRows", ParDo.of(new UpsertFn<>(table, jdbcUrl, toRow, retention)));
    return PDone.in(rows.getPipeline());
  }

  static final class UpsertFn<T> extends DoFn<T, Void> {
    private static final Logger LOG = LoggerFactory.getLogger(UpsertFn.class);

    private final FeatureTable table;
    private final String jdbcUrl;
    private final SerializableFunction<T, Object[]> toRow;
    private final Counter applied = Metrics.counter("WriteToOnlineStore", "rows_applied");
    private final Counter skipped = Metrics.counter("WriteToOnlineStore", "rows_skipped_not_newer");
    private final Counter retries = Metrics.counter("WriteToOnlineStore", "batch_retries");
    private final Counter expired = Metrics.counter("WriteToOnlineStore", "rows_expired");
    private final Retention retention;

    private transient OnlineStore store;
    private transient List<Object[]> batch;

    UpsertFn(FeatureTable table, String jdbcUrl, SerializableFunction<T, Object[]> toRow, Retention retention) {
      this.table = table;
      this.jdbcUrl = jdbcUrl;
      this.toRow = toRow;
      this.retention = retention;
    }

    @Setup
    public void setup() {
      store = OnlineStore.forUrl(jdbcUrl);
      store.ensureTable(table);
    }

    @StartBundle
    public void startBundle() {
      batch = new ArrayList<>();
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

    private void flush() throws InterruptedException, SQLException {
      if (batch.isEmpty()) {
        return;
      }
      long backoffMillis = FIRST_BACKOFF.getMillis();
      for (int attempt = 1; ; attempt++) {
        try {
          int written = store.upsert(table, batch);
          applied.inc(written);
          skipped.inc(batch.size() - written);
          if (retention != null) {
            expired.inc(store.deleteBefore(table, retention.entityColumn, expiryBounds(), retention.timeColumn));
          }
          batch.clear();
          return;
        } catch (SQLException e) {
          if (attempt == MAX_ATTEMPTS) {
            throw new SQLException(
                "giving up on " + batch.size() + " rows for " + table.name() + " in " + store.redactedUrl()
                    + " after " + attempt + " attempts; the runner will retry the bundle",
                e);
          }
          retries.inc();
          LOG.warn("upsert into {} failed (attempt {} of {}), retrying in {} ms: {}",
              table.name(), attempt, MAX_ATTEMPTS, backoffMillis, e.getMessage());
          Thread.sleep(backoffMillis);
          backoffMillis *= 2;
        }
      }
    }
  }
}
