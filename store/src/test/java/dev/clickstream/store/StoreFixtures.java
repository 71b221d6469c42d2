package dev.clickstream.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Real databases for tests: a fresh in-memory H2 database, a fresh schema in the local PostgreSQL (127.0.0.1:5432,
 * trust auth, database {@code test}) or a fresh database in the local MariaDB (127.0.0.1:3306, root without a
 * password); .ci/run starts both servers. Each call gives an isolated store, so tests never see each other's rows.
 */
public final class StoreFixtures {
  /** Overridable for machines where PostgreSQL lives elsewhere. */
  public static final String POSTGRES_BASE_URL =
      System.getProperty("clickstream.test.postgres", "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");

  /**
   * Overridable for machines where MariaDB (or MySQL) lives elsewhere: a URL whose user may create and drop
   * databases. Fresh stores are databases next to the one it names.
   */
  public static final String MARIADB_BASE_URL =
      System.getProperty("clickstream.test.mariadb", "jdbc:mariadb://127.0.0.1:3306/test?user=root");

  /** A MariaDB or MySQL URL, split around its database name. */
  private static final Pattern MARIADB_URL = Pattern.compile("^(jdbc:(?:mariadb|mysql)://[^/?]+)(?:/[^?]*)?(\\?.*)?$");

  /** The names fresh schemas and databases get: {@code t_<epoch seconds>_<12 hex digits>}. */
  private static final Pattern FRESH_NAME = Pattern.compile("t_(\\d+)_[0-9a-f]{12}");

  /**
   * A PostgreSQL URL on a closed port (nothing listens on 1), with a password that must never show up in messages.
   */
  public static final String UNREACHABLE_URL =
      "jdbc:postgresql://127.0.0.1:1/test?user=postgres&password=secret&connectTimeout=1";

  /** {@link #UNREACHABLE_URL} as {@link OnlineStore#redactedUrl()} shows it. */
  public static final String UNREACHABLE_REDACTED_URL =
      "jdbc:postgresql://127.0.0.1:1/test?user=postgres&password=***&connectTimeout=1";

  /** Hikari's smallest connection timeout: how long a read of {@link #unreachableStore()} waits before failing. */
  private static final long UNREACHABLE_TIMEOUT_MS = 250;

  private static OnlineStore unreachableStore;

  private StoreFixtures() {}

  /**
   * A store whose database is down: {@link #UNREACHABLE_URL} behind the same kind of pool as {@link
   * OnlineStore#forUrl}, but one that gives up after 250 ms instead of the production 10 s, so tests of the
   * failure path stay fast. One per JVM, shared by every test that asks.
   */
  public static synchronized OnlineStore unreachableStore() {
    if (unreachableStore == null) {
      HikariConfig config = new HikariConfig();
      config.setJdbcUrl(UNREACHABLE_URL);
      config.setMaximumPoolSize(2);
      config.setMinimumIdle(0);
      config.setConnectionTimeout(UNREACHABLE_TIMEOUT_MS);
      config.setInitializationFailTimeout(-1);
      config.setPoolName("unreachable-test-store");
      unreachableStore = new OnlineStore(UNREACHABLE_URL, new HikariDataSource(config), Dialect.POSTGRESQL);
    }
    return unreachableStore;
  }

  /** Dialect names, for parameterized tests over every supported store. */
  public static List<String> dialects() {
    return List.of("h2", "postgresql", "mariadb");
  }

  /** A fresh, empty store of the given dialect name ({@link #dialects()}). */
  public static String freshStoreUrl(String dialect) {
    switch (dialect) {
      case "h2":
        return freshH2Url();
      case "postgresql":
        return freshPostgresUrl();
      case "mariadb":
        return freshMariadbUrl();
      default:
        throw new IllegalArgumentException("unknown test dialect " + dialect + ", expected one of " + dialects());
    }
  }

  public static String freshH2Url() {
    return "jdbc:h2:mem:test-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1";
  }

  /**
   * A new schema in the local PostgreSQL; fails loudly, with what to do, when PostgreSQL is not running. Schemas
   * are named {@code t_<epoch seconds>_<random>}; the first call in a JVM drops those older than a day, so test runs
   * do not pile them up.
   */
  public static String freshPostgresUrl() {
    String schema = freshName();
    try (Connection connection = DriverManager.getConnection(POSTGRES_BASE_URL);
        Statement statement = connection.createStatement()) {
      dropStaleSchemasOnce(statement);
      statement.execute("CREATE SCHEMA " + schema);
    } catch (SQLException e) {
      throw new IllegalStateException(
          "PostgreSQL is not reachable at " + POSTGRES_BASE_URL + " (" + e.getMessage() + "). Start it with"
              + " 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start', or run .ci/run,"
              + " which starts it.",
          e);
    }
    return POSTGRES_BASE_URL + "&currentSchema=" + schema;
  }

  /**
   * A new database in the local MariaDB, as {@code jdbc:mariadb://127.0.0.1:3306/<database>?user=root}; fails loudly,
   * with what to do, when MariaDB is not running. Databases are named as {@link #freshPostgresUrl()} names schemas,
   * and the first call in a JVM drops those older than a day.
   */
  public static String freshMariadbUrl() {
    Matcher base = MARIADB_URL.matcher(MARIADB_BASE_URL);
    if (!base.matches()) {
      throw new IllegalStateException(
          "clickstream.test.mariadb must look like jdbc:mariadb://HOST:PORT/DATABASE?user=USER, got "
              + MARIADB_BASE_URL);
    }
    String database = freshName();
    try (Connection connection = DriverManager.getConnection(ConnectionPools.driverUrl(MARIADB_BASE_URL));
        Statement statement = connection.createStatement()) {
      dropStaleMariadbDatabasesOnce(statement);
      statement.execute("CREATE DATABASE " + database);
    } catch (SQLException e) {
      throw new IllegalStateException(
          "MariaDB is not reachable at " + MARIADB_BASE_URL + " (" + e.getMessage() + "). Start it with"
              + " 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd', or run"
              + " scripts/start-services.sh, which starts it (.ci/run does).",
          e);
    }
    return base.group(1) + "/" + database + Objects.toString(base.group(2), "");
  }

  private static String freshName() {
    return "t_" + System.currentTimeMillis() / 1000 + "_"
        + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  }

  private static boolean staleMariadbDatabasesDropped;
  private static boolean staleSchemasDropped;

  private static synchronized void dropStaleMariadbDatabasesOnce(Statement statement) throws SQLException {
    if (!staleMariadbDatabasesDropped) {
      staleMariadbDatabasesDropped = true;
      dropStale(
          statement,
          "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 't\\_%'",
          "DROP DATABASE IF EXISTS %s");
    }
  }

  private static synchronized void dropStaleSchemasOnce(Statement statement) throws SQLException {
    if (!staleSchemasDropped) {
      staleSchemasDropped = true;
      dropStale(
          statement,
          "SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'",
          "DROP SCHEMA IF EXISTS %s CASCADE");
    }
  }

  /**
   * Drops what {@code listNames} lists that these fixtures made ({@link #FRESH_NAME}) over a day ago; anything else
   * on the server is left alone.
   */
  private static void dropStale(Statement statement, String listNames, String dropFormat) throws SQLException {
    long dayAgo = System.currentTimeMillis() / 1000 - 86_400;
    List<String> stale = new java.util.ArrayList<>();
    try (java.sql.ResultSet names = statement.executeQuery(listNames)) {
      while (names.next()) {
        Matcher fresh = FRESH_NAME.matcher(names.getString(1));
        if (fresh.matches() && Long.parseLong(fresh.group(1)) < dayAgo) {
          stale.add(names.getString(1));
        }
      }
    }
    for (String name : stale) {
      statement.execute(String.format(dropFormat, name));
    }
  }
}
