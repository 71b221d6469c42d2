package dev.clickstream.store;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import dev.clickstream.features.FeatureTables;
import dev.clickstream.features.FeatureTable;
import dev.clickstream.features.FeatureTable.Column;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads and writes feature rows in a JDBC online store. Every statement is prepared with bound parameters; table
 * and column names come from {@link FeatureTables} only.
 *
 * <p>Writes are idempotent upserts guarded by the table's replace condition, so a runner that retries a bundle, a
 * replayed input or out-of-order arrival leaves the same rows.
 */
public final class OnlineStore {
  private static final Logger LOG = LoggerFactory.getLogger(OnlineStore.class);
  /** Most keys read in one statement; longer lists are read in chunks. */
  static final int MAX_KEYS_PER_READ = 500;
  /** How often one batch is written when it keeps losing races with concurrent writers. */
  static final int MAX_WRITE_ATTEMPTS = 5;
  /**
   * How long one statement may run: a 500-row upsert takes milliseconds, so this only ends statements stuck behind
   * a lock or a database that stopped answering.
   */
  static final int QUERY_TIMEOUT_SECONDS = 30;
  /**
   * Unique violation (H2: a concurrent insert of the same key), serialization failure or deadlock (MariaDB reports
   * its deadlocks so), PostgreSQL deadlock.
   */
  private static final Set<String> WRITE_CONFLICT_STATES = Set.of("23505", "40001", "40P01");
  /** MariaDB's deadlock and lock wait timeout, by error code: the lock wait timeout has no SQLState of its own. */
  private static final Set<Integer> MARIADB_WRITE_CONFLICT_CODES = Set.of(1213, 1205);

  /**
   * A table that does not exist: PostgreSQL's undefined_table, and the standard 42S02 of MariaDB and H2, which
   * says 42S04 instead when its database holds no table at all.
   */
  private static final Set<String> MISSING_TABLE_STATES = Set.of("42P01", "42S02", "42S04");

  private static final Set<String> CREATED_TABLES = ConcurrentHashMap.newKeySet();

  private final String jdbcUrl;
  private final DataSource dataSource;
  private final Dialect dialect;
  /**
   * The query timeout of reads, 0 for none. The serving pool's PostgreSQL and MariaDB connections time out after
   * {@value ConnectionPools#SERVING_SOCKET_TIMEOUT_MS} ms, well before the 30 s query timeout, which pgjdbc enforces
   * with a timer task per statement on one JVM-wide {@code java.util.Timer}: a lock every lookup took twice.
   */
  private final int readTimeoutSeconds;
  /** Each table's single-key SELECT, built once. */
  private final Map<FeatureTable, String> selectOne = new ConcurrentHashMap<>();

  OnlineStore(String jdbcUrl, DataSource dataSource, Dialect dialect) {
    this(jdbcUrl, dataSource, dialect, QUERY_TIMEOUT_SECONDS);
  }

  private OnlineStore(String jdbcUrl, DataSource dataSource, Dialect dialect, int readTimeoutSeconds) {
    this.jdbcUrl = jdbcUrl;
    this.dataSource = dataSource;
    this.dialect = dialect;
    this.readTimeoutSeconds = readTimeoutSeconds;
  }

  /** The store at {@code jdbcUrl}, on the JVM's shared pool for that URL. */
  public static OnlineStore forUrl(String jdbcUrl) {
    return new OnlineStore(jdbcUrl, ConnectionPools.get(jdbcUrl), Dialect.fromJdbcUrl(jdbcUrl));
  }

  /**
   * The store at {@code jdbcUrl} for the feature server: a read waits at most {@value
   * ConnectionPools#SERVING_CONNECTION_TIMEOUT_MS} ms for a connection ({@link ConnectionPools#forServing}). The
   * server only reads: it never creates a table, so its database user needs no DDL rights.
   */
  public static OnlineStore forServing(String jdbcUrl) {
    Dialect dialect = Dialect.fromJdbcUrl(jdbcUrl);
    // H2 has no socket timeout to end a stuck read: it keeps the query timeout.
    return new OnlineStore(jdbcUrl, ConnectionPools.forServing(jdbcUrl), dialect,
        dialect == Dialect.H2 ? QUERY_TIMEOUT_SECONDS : 0);
  }

  public Dialect dialect() {
    return dialect;
  }

  /** Creates the table when it is missing; cheap after the first call per JVM. */
  public void ensureTable(FeatureTable table) {
    String marker = jdbcUrl + "#" + table.name();
    if (CREATED_TABLES.contains(marker)) {
      return;
    }
    // One connection for the create and the check after it: when the database is down, one wait for the pool.
    try (Connection connection = dataSource.getConnection()) {
      try (Statement statement = statement(connection)) {
        statement.execute(dialect.createTableSql(table));
        for (String createIndex : dialect.createIndexSql(table)) {
          statement.execute(createIndex);
        }
      } catch (SQLException e) {
        // Two workers may race on CREATE TABLE IF NOT EXISTS (PostgreSQL reports a duplicate type): fine if it exists.
        if (!tableExists(connection, table)) {
          throw e;
        }
      }
      checkPrimaryKey(connection, table);
    } catch (SQLException e) {
      throw unavailable("cannot create table " + table.name(), e);
    }
    CREATED_TABLES.add(marker);
  }

  /**
   * Upserts {@code rows} (values in {@link FeatureTable#columns()} order) in one batch and one transaction.
   *
   * <p>Safe to call from many threads and workers at once. Rows are written in primary-key order, so two batches over the
   * same keys take their row locks in the same order and cannot deadlock on each other. A batch that loses a race
   * to insert the same new key (H2 reports a duplicate key, where PostgreSQL's ON CONFLICT waits), that the
   * database picks as the victim of a deadlock with some other transaction, or that gives up waiting for a row lock
   * on MariaDB, is rolled back and written again, up to {@value #MAX_WRITE_ATTEMPTS} times. The replace condition
   * makes the retry harmless.
   *
   * <p>Rows are sent one statement each (see {@link ConnectionPools#driverUrl}), so two rows of one key in a batch
   * are applied in the order given, each against the row the one before it left, and each gets its own count.
   *
   * <p>Every row is checked before it is written: a wrong number of values, a null in a column that is not
   * nullable, or an infinite or NaN double (MariaDB cannot store them, so no store takes them) rejects the whole
   * batch with an {@link IllegalArgumentException}.
   *
   * @return how many rows were applied; the rest were older than the stored rows and left them unchanged
   */
  public int upsert(FeatureTable table, List<Object[]> rows) throws SQLException {
    return write(table, rows, dialect.upsertSql(table));
  }

  /**
   * Like {@link #upsert}, but every row replaces the stored row of its key whatever the table's replace condition
   * says: for a bounded rerun over corrected input, whose rows may hold fewer events than the ones they correct.
   * Two rows of one key in a batch leave the last one given. Not for a live stream: there a late, smaller pane
   * would replace a fuller one.
   *
   * @return how many rows were applied (MariaDB does not count a row that was already stored as it is)
   */
  public int restate(FeatureTable table, List<Object[]> rows) throws SQLException {
    return write(table, rows, dialect.restateSql(table));
  }

  private int write(FeatureTable table, List<Object[]> rows, String sql) throws SQLException {
    if (rows.isEmpty()) {
      return 0;
    }
    int width = table.columns().size();
    for (Object[] row : rows) {
      if (row.length != width) {
        throw new IllegalArgumentException(
            "a row for " + table.name() + " has " + row.length + " values, expected " + width);
      }
    }
    // A stable sort: rows for one key keep their order, so the result is the one of the order given.
    List<Object[]> inKeyOrder = new ArrayList<>(rows);
    inKeyOrder.sort(primaryKeyOrder(table));
    List<Column> columns = table.columns();
    return inWriteTransaction("upsert into " + table.name(), connection -> {
      try (PreparedStatement statement = prepare(connection, sql)) {
        for (Object[] row : inKeyOrder) {
          for (int i = 0; i < row.length; i++) {
            bind(statement, i + 1, columns.get(i), row[i]);
          }
          statement.addBatch();
        }
        int applied = 0;
        for (int count : statement.executeBatch()) {
          // One count per row: 1 when H2 or PostgreSQL applied it; 1 for an insert and 2 for an update on MariaDB;
          // 0 when the row was refused. ConnectionPools keeps MariaDB from answering SUCCESS_NO_INFO.
          if (count > 0 || count == Statement.SUCCESS_NO_INFO) {
            applied++;
          }
        }
        return applied;
      }
    });
  }

  /**
   * A statement that gives up after {@link #QUERY_TIMEOUT_SECONDS}: a database that holds a lock or stops
   * answering frees the connection instead of pinning it (the driver's socket timeout, see {@link
   * ConnectionPools}, covers a peer that stops answering altogether).
   */
  private static PreparedStatement prepare(Connection connection, String sql) throws SQLException {
    PreparedStatement statement = connection.prepareStatement(sql);
    statement.setQueryTimeout(QUERY_TIMEOUT_SECONDS);
    return statement;
  }

  /** A read's statement: with the query timeout unless the connection's socket timeout ends reads sooner. */
  private PreparedStatement prepareRead(Connection connection, String sql) throws SQLException {
    PreparedStatement statement = connection.prepareStatement(sql);
    if (readTimeoutSeconds > 0) {
      statement.setQueryTimeout(readTimeoutSeconds);
    }
    return statement;
  }

  /** A plain statement with the same timeout as {@link #prepare}. */
  private static Statement statement(Connection connection) throws SQLException {
    Statement statement = connection.createStatement();
    statement.setQueryTimeout(QUERY_TIMEOUT_SECONDS);
    return statement;
  }

  /** Work on one connection inside a transaction. */
  @FunctionalInterface
  private interface TransactionWork<T> {
    T run(Connection connection) throws SQLException;
  }

  /**
   * Runs {@code work} in one transaction, committed when it returns and rolled back when it throws; a transaction
   * that loses a race with another writer ({@link #isWriteConflict}) runs again, up to {@value #MAX_WRITE_ATTEMPTS}
   * times.
   */
  private <T> T inWriteTransaction(String what, TransactionWork<T> work) throws SQLException {
    for (int attempt = 1; ; attempt++) {
      try (Connection connection = dataSource.getConnection()) {
        connection.setAutoCommit(false);
        try {
          T result = work.run(connection);
          connection.commit();
          return result;
        } catch (SQLException | RuntimeException e) {
          rollBack(connection, e);
          throw e;
        } catch (AssertionError e) {
          if (!isPgjdbcClosedDuringBatch(e)) {
            throw e;
          }
          SQLException closed =
              new SQLException("the connection closed during a batch (pgjdbc with assertions enabled reports that"
                  + " as an AssertionError, pgjdbc/pgjdbc#1458)", "08003", e);
          rollBack(connection, closed);
          throw closed;
        }
      } catch (SQLException e) {
        if (attempt == MAX_WRITE_ATTEMPTS || !isWriteConflict(e)) {
          throw e;
        }
        LOG.debug("{} lost a race with another writer (attempt {}); running it again", what, attempt, e);
      }
    }
  }

  /**
   * Rolls back after {@code failure}. On a broken connection the rollback fails too; that failure is kept on {@code
   * failure} as suppressed, so the caller still sees (and classifies) what went wrong first. The pool rolls back
   * or discards the connection when it is returned either way.
   */
  private static void rollBack(Connection connection, Exception failure) {
    try {
      connection.rollback();
    } catch (SQLException rollbackFailure) {
      failure.addSuppressed(rollbackFailure);
    }
  }

  /**
   * pgjdbc 42.7.4 run with assertions enabled ({@code -ea}, as in tests) fails an assertion in {@code
   * BatchResultHandler.isAutoCommit} instead of throwing the batch's SQLException when the connection closes during
   * {@code executeBatch} (pgjdbc/pgjdbc#1458, fixed by pgjdbc/pgjdbc#4187): that one is a broken connection. Drop
   * this once the driver has the fix.
   */
  private static boolean isPgjdbcClosedDuringBatch(AssertionError e) {
    StackTraceElement[] trace = e.getStackTrace();
    return trace.length > 0 && trace[0].getClassName().equals("org.postgresql.jdbc.BatchResultHandler");
  }

  /** Orders rows by their primary key: the entity as a string, then string keys as strings, time keys as numbers. */
  private static Comparator<Object[]> primaryKeyOrder(FeatureTable table) {
    Comparator<Object[]> order = Comparator.comparing(row -> Objects.toString(row[0], ""));
    List<Column> keys = table.keyColumns();
    for (int i = 1; i < keys.size(); i++) {
      int index = i;
      order =
          keys.get(i).type() == FeatureTable.ColumnType.STRING
              ? order.thenComparing(row -> Objects.toString(row[index], ""))
              : order.thenComparing(row -> row[index] == null ? Long.MIN_VALUE : ((Number) row[index]).longValue());
    }
    return order;
  }

  /**
   * A duplicate key from a concurrent insert, a deadlock, a serialization failure or a lock wait timeout: worth
   * writing again.
   */
  private boolean isWriteConflict(SQLException e) {
    for (SQLException next = e; next != null; next = next.getNextException()) {
      for (Throwable cause = next; cause != null; cause = cause.getCause()) {
        if (cause instanceof SQLException && isWriteConflictItself((SQLException) cause)) {
          return true;
        }
      }
    }
    return false;
  }

  private boolean isWriteConflictItself(SQLException e) {
    // Set.of(...).contains(null) throws, and not every SQLException has a state (Hikari's "Connection is closed").
    return (e.getSQLState() != null && WRITE_CONFLICT_STATES.contains(e.getSQLState()))
        || (dialect == Dialect.MARIADB && MARIADB_WRITE_CONFLICT_CODES.contains(e.getErrorCode()));
  }

  /**
   * Deletes every row of {@code table} (creating it when missing), for a run that must start from nothing. A
   * truncate, not a delete, so the space is given back and table sizes measure what a run wrote.
   */
  public void clear(FeatureTable table) {
    try {
      ensureTable(table);
    } catch (KeyMismatchException e) {
      // Starting from nothing anyway: a table an earlier version created with another key is made anew.
      LOG.info("{}; dropping it to start from nothing", e.getMessage());
      execute("DROP TABLE " + table.name(), "cannot drop " + table.name());
      ensureTable(table);
    }
    execute("TRUNCATE TABLE " + table.name(), "cannot clear " + table.name());
  }

  /** A table exists with another primary key than its declaration's, as an earlier version created it. */
  public static final class KeyMismatchException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    KeyMismatchException(String message) {
      super(message);
    }
  }

  /**
   * Fails with a {@link KeyMismatchException} when {@code table} exists with another primary key than it declares:
   * every upsert would fail (PostgreSQL, H2) or silently keep one row per old key (MariaDB). Skipped when the driver
   * does not report the key.
   */
  private void checkPrimaryKey(Connection connection, FeatureTable table) throws SQLException {
    List<String> declared =
        table.keyColumns().stream().map(column -> column.name().toLowerCase(Locale.ROOT)).collect(Collectors.toList());
    String name = dialect == Dialect.H2 ? table.name().toUpperCase(Locale.ROOT) : table.name();
    Map<Integer, String> stored = new TreeMap<>();
    try (ResultSet keys =
        connection.getMetaData().getPrimaryKeys(connection.getCatalog(), connection.getSchema(), name)) {
      while (keys.next()) {
        stored.put(keys.getInt("KEY_SEQ"), keys.getString("COLUMN_NAME").toLowerCase(Locale.ROOT));
      }
    }
    if (!stored.isEmpty() && !declared.equals(new ArrayList<>(stored.values()))) {
      throw new KeyMismatchException("table " + table.name() + " in the online store " + redactedUrl()
          + " has the primary key (" + String.join(", ", stored.values()) + "), but this version declares ("
          + String.join(", ", declared) + "): an earlier version created it. Drop it (DROP TABLE " + table.name()
          + ") and run again, and the pipeline creates it anew; a table of raw events holds only its retention's"
          + " worth of rows, which the next run of its input writes again");
    }
  }

  /** Runs one statement whose SQL comes from the registry; {@code failure} says what could not be done. */
  private void execute(String sql, String failure) {
    try (Connection connection = dataSource.getConnection();
        Statement statement = statement(connection)) {
      statement.execute(sql);
    } catch (SQLException e) {
      throw unavailable(failure, e);
    }
  }

  /**
   * Deletes, for each entity in {@code bounds}, its rows whose {@code rangeColumn} is below the entity's bound, in
   * one transaction: how a table of raw events keeps only what the longest window can still read. Column names must
   * be columns of {@code table}.
   *
   * @return how many rows were deleted
   */
  public int deleteBefore(FeatureTable table, String entityColumn, Map<String, Long> bounds, String rangeColumn)
      throws SQLException {
    if (bounds.isEmpty()) {
      return 0;
    }
    String sql = dialect.deleteBeforeSql(table, table.column(entityColumn), table.column(rangeColumn));
    // Entities in order, so concurrent deletes take their locks in the same order.
    Map<String, Long> inOrder = new java.util.TreeMap<>(bounds);
    return inWriteTransaction("delete from " + table.name(), connection -> {
      try (PreparedStatement statement = prepare(connection, sql)) {
        for (Map.Entry<String, Long> bound : inOrder.entrySet()) {
          statement.setString(1, bound.getKey());
          statement.setLong(2, bound.getValue());
          statement.addBatch();
        }
        int deleted = 0;
        for (int count : statement.executeBatch()) {
          deleted += Math.max(count, 0);
        }
        return deleted;
      }
    });
  }

  /** Reads what a {@link ResultSet} holds; may throw {@link SQLException} like the JDBC calls it makes. */
  @FunctionalInterface
  interface ResultReader<T> {
    T read(ResultSet resultSet) throws SQLException;
  }

  /**
   * Runs one query with bound {@code parameters} (String, Long, Integer or Double) and hands its result to {@code
   * reader}. Package-private: its SQL comes only from statements derived from the registry's definitions.
   */
  <T> T query(String sql, List<Object> parameters, ResultReader<T> reader) {
    try (Connection connection = dataSource.getConnection();
        PreparedStatement statement = prepareRead(connection, sql)) {
      for (int i = 0; i < parameters.size(); i++) {
        Object parameter = parameters.get(i);
        if (parameter instanceof String) {
          statement.setString(i + 1, (String) parameter);
        } else if (parameter instanceof Long || parameter instanceof Integer) {
          statement.setLong(i + 1, ((Number) parameter).longValue());
        } else if (parameter instanceof Double) {
          statement.setDouble(i + 1, (Double) parameter);
        } else {
          throw new IllegalArgumentException("cannot bind parameter " + (i + 1) + ": " + parameter);
        }
      }
      try (ResultSet resultSet = statement.executeQuery()) {
        return reader.read(resultSet);
      }
    } catch (SQLException e) {
      throw unavailable("cannot run a read", e);
    }
  }

  /**
   * Every row of {@code table} in primary-key order, as column name to value: for inspecting small tables and for
   * tests, not for serving.
   */
  public List<Map<String, Object>> readTable(FeatureTable table) {
    String orderBy =
        table.keyColumns().stream().map(Column::name).collect(java.util.stream.Collectors.joining(", "));
    return query(
        "SELECT " + String.join(", ", table.columnNames()) + " FROM " + table.name() + " ORDER BY " + orderBy,
        List.of(),
        resultSet -> {
          List<Map<String, Object>> rows = new ArrayList<>();
          while (resultSet.next()) {
            rows.add(readRow(table, resultSet));
          }
          return rows;
        });
  }

  /**
   * The greatest value of {@code table}'s TIME column {@code timeColumn} (epoch ms), empty when the table has no row:
   * how fresh its newest row is. The names come from the table's declaration only; a full scan where the column has
   * no index, so callers cache it.
   */
  public OptionalLong newest(FeatureTable table, String timeColumn) {
    Column column = timeColumn(table, timeColumn);
    return query("SELECT MAX(" + column.name() + ") FROM " + table.name(), List.of(), resultSet -> {
      long newest = resultSet.next() ? resultSet.getLong(1) : 0;
      return resultSet.wasNull() ? OptionalLong.empty() : OptionalLong.of(newest);
    });
  }

  /**
   * How many rows of {@code table} hold each value of its TIME column {@code timeColumn} at or after {@code from}
   * (epoch ms), in time order: for watching windows arrive (each window's rows share their end). The names come from
   * the table's declaration only.
   */
  public SortedMap<Long, Long> rowsPerTime(FeatureTable table, String timeColumn, long from) {
    Column column = timeColumn(table, timeColumn);
    return query(
        "SELECT " + column.name() + ", COUNT(*) FROM " + table.name() + " WHERE " + column.name() + " >= ? GROUP BY "
            + column.name(),
        List.of(from),
        resultSet -> {
          SortedMap<Long, Long> rows = new TreeMap<>();
          while (resultSet.next()) {
            rows.put(resultSet.getLong(1), resultSet.getLong(2));
          }
          return rows;
        });
  }

  /** The TIME column {@code name} of {@code table}: the only columns the time queries take. */
  private static Column timeColumn(FeatureTable table, String name) {
    Column column = table.column(name);
    if (column.role() != FeatureTable.Role.TIME) {
      throw new IllegalArgumentException(table.name() + "." + name + " is not a time column");
    }
    return column;
  }

  /** How the connections of this store's pool are used right now; empty when it is not a pool of ours. */
  public Optional<PoolUsage> poolUsage() {
    if (!(dataSource instanceof HikariDataSource pool) || pool.getHikariPoolMXBean() == null) {
      return Optional.empty();
    }
    HikariPoolMXBean bean = pool.getHikariPoolMXBean();
    return Optional.of(new PoolUsage(bean.getActiveConnections(), bean.getIdleConnections(),
        bean.getThreadsAwaitingConnection(), pool.getMaximumPoolSize()));
  }

  /** Connections in use, idle, requests waiting for one, and the pool's maximum size. */
  public record PoolUsage(int active, int idle, int waiting, int max) {}

  /** The bytes {@code table} and its indexes take on disk, as the database reports them (for benchmarks). */
  public long storedBytes(FeatureTable table) {
    ensureTable(table);
    if (dialect == Dialect.MARIADB) {
      // information_schema's sizes are only refreshed by statistics updates.
      query("ANALYZE TABLE " + table.name(), List.of(), resultSet -> null);
    } else if (dialect == Dialect.H2) {
      // H2 counts pages written to the file; an in-memory database always reports 0.
      execute("CHECKPOINT", "cannot checkpoint");
    }
    String name = dialect == Dialect.H2 ? table.name().toUpperCase(java.util.Locale.ROOT) : table.name();
    return query(dialect.storedBytesSql(), List.of(name), resultSet -> resultSet.next() ? resultSet.getLong(1) : 0L);
  }

  /** The row stored for {@code key}, as column name to value in table order. */
  public Optional<Map<String, Object>> read(FeatureTable table, String key) {
    // The lookup of every single-entity request: one statement, built once per table.
    String sql = selectOne.computeIfAbsent(table, t -> dialect.selectSql(t, 1));
    try (Connection connection = dataSource.getConnection();
        PreparedStatement statement = prepareRead(connection, sql)) {
      statement.setString(1, key);
      try (ResultSet resultSet = statement.executeQuery()) {
        return resultSet.next() ? Optional.of(readRow(table, resultSet)) : Optional.empty();
      }
    } catch (SQLException e) {
      throw unavailable("cannot read " + table.name(), e);
    }
  }

  /** The rows stored for {@code keys}; keys without a row are absent from the result. */
  public Map<String, Map<String, Object>> readAll(FeatureTable table, Collection<String> keys) {
    Map<String, Map<String, Object>> rows = new LinkedHashMap<>();
    List<String> distinctKeys = new ArrayList<>(new java.util.LinkedHashSet<>(keys));
    try (Connection connection = dataSource.getConnection()) {
      for (int from = 0; from < distinctKeys.size(); from += MAX_KEYS_PER_READ) {
        List<String> chunk = distinctKeys.subList(from, Math.min(distinctKeys.size(), from + MAX_KEYS_PER_READ));
        try (PreparedStatement statement = prepareRead(connection, dialect.selectSql(table, chunk.size()))) {
          for (int i = 0; i < chunk.size(); i++) {
            statement.setString(i + 1, chunk.get(i));
          }
          try (ResultSet resultSet = statement.executeQuery()) {
            while (resultSet.next()) {
              Map<String, Object> row = readRow(table, resultSet);
              rows.put((String) row.get(table.key().name()), row);
            }
          }
        }
      }
    } catch (SQLException e) {
      throw unavailable("cannot read " + table.name(), e);
    }
    return rows;
  }

  /** True when a connection can be taken and is valid. */
  public boolean isReachable() {
    try (Connection connection = dataSource.getConnection()) {
      return connection.isValid(2);
    } catch (SQLException e) {
      LOG.debug("online store {} unreachable", redactedUrl(), e);
      return false;
    }
  }

  /**
   * Returns when a connection can be taken and answers a validity check within a second; otherwise throws a {@link
   * StoreUnavailableException} whose cause says why.
   */
  public void checkReachable() {
    try (Connection connection = dataSource.getConnection()) {
      if (!connection.isValid(1)) {
        throw unavailable("cannot check a connection",
            new SQLException("the connection did not answer a validity check within 1 s", "08006"));
      }
    } catch (SQLException e) {
      throw unavailable("cannot connect", e);
    }
  }

  /**
   * Whether {@code table} exists, found by reading it (no catalog rights needed); a {@link
   * StoreUnavailableException} when the store cannot tell.
   */
  public boolean hasTable(FeatureTable table) {
    try (Connection connection = dataSource.getConnection();
        Statement statement = connection.createStatement()) {
      statement.executeQuery("SELECT 1 FROM " + table.name() + " WHERE 1 = 0").close();
      return true;
    } catch (SQLException e) {
      if (isMissingTable(e)) {
        return false;
      }
      throw unavailable("cannot read " + table.name(), e);
    }
  }

  /**
   * Whether {@code failure} (a {@link StoreUnavailableException} or its cause) is a statement that named a table
   * that does not exist, rather than a store that is down: a table no pipeline has created yet.
   */
  public static boolean isMissingTable(Throwable failure) {
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      if (cause instanceof SQLException sql && sql.getSQLState() != null
          && MISSING_TABLE_STATES.contains(sql.getSQLState())) {
        return true;
      }
    }
    return false;
  }

  /** The URL with every credential hidden ({@link JdbcUrls#redacted}), for messages. */
  public String redactedUrl() {
    return JdbcUrls.redacted(jdbcUrl);
  }

  private static boolean tableExists(Connection connection, FeatureTable table) {
    try (Statement statement = statement(connection)) {
      statement.executeQuery("SELECT 1 FROM " + table.name() + " WHERE 1 = 0").close();
      return true;
    } catch (SQLException e) {
      return false;
    }
  }

  private StoreUnavailableException unavailable(String what, SQLException e) {
    return new StoreUnavailableException(
        what + " in the online store " + redactedUrl() + ": " + e.getMessage()
            + " (is the database running and the URL right?)",
        e);
  }

  private static void bind(PreparedStatement statement, int index, Column column, Object value)
      throws SQLException {
    if (value == null) {
      if (!column.nullable()) {
        throw new IllegalArgumentException("column " + column.name() + " may not be null");
      }
      statement.setNull(index, sqlType(column.type()));
      return;
    }
    switch (column.type()) {
      case KEY:
      case STRING:
        statement.setString(index, (String) value);
        break;
      case BIGINT:
        statement.setLong(index, ((Number) value).longValue());
        break;
      case DOUBLE:
        double number = ((Number) value).doubleValue();
        if (!Double.isFinite(number)) {
          // MariaDB has no infinity or NaN; refusing them everywhere keeps every store holding the same rows.
          throw new IllegalArgumentException(
              "column " + column.name() + " must be a finite number or null, got " + number);
        }
        statement.setDouble(index, number);
        break;
      default:
        throw new AssertionError(column.type());
    }
  }

  private static int sqlType(FeatureTable.ColumnType type) {
    switch (type) {
      case KEY:
      case STRING:
        return Types.VARCHAR;
      case BIGINT:
        return Types.BIGINT;
      case DOUBLE:
        return Types.DOUBLE;
      default:
        throw new AssertionError(type);
    }
  }

  /** The row at the result's cursor, whose columns are the table's in order (every SELECT here lists them so). */
  private static Map<String, Object> readRow(FeatureTable table, ResultSet resultSet) throws SQLException {
    List<Column> columns = table.columns();
    Map<String, Object> row = new LinkedHashMap<>(columns.size() * 2);
    for (int i = 0; i < columns.size(); i++) {
      Column column = columns.get(i);
      Object value;
      // By position: by name, the driver looks each label up in a map, case-insensitively, for every value.
      switch (column.type()) {
        case KEY:
        case STRING:
          value = resultSet.getString(i + 1);
          break;
        case BIGINT:
          value = resultSet.getLong(i + 1);
          break;
        case DOUBLE:
          value = resultSet.getDouble(i + 1);
          break;
        default:
          throw new AssertionError(column.type());
      }
      row.put(column.name(), resultSet.wasNull() ? null : value);
    }
    return row;
  }
}
