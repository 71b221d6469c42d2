package dev.clickstream.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.UUID;

/**
 * Real databases for tests: a fresh in-memory H2 database, or a fresh schema in the local PostgreSQL
 * (127.0.0.1:5432, trust auth, database {@code test}; .ci/run starts it). Each call gives an isolated store, so
 * tests never see each other's rows.
 */
public final class StoreFixtures {
  /** Overridable for machines where PostgreSQL lives elsewhere. */
  public static final String POSTGRES_BASE_URL =
      System.getProperty("clickstream.test.postgres", "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");

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
    return List.of("h2", "postgresql");
  }

  /** A fresh, empty store of the given dialect name ({@link #dialects()}). */
  public static String freshStoreUrl(String dialect) {
    switch (dialect) {
      case "h2":
        return freshH2Url();
      case "postgresql":
        return freshPostgresUrl();
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
    String schema =
        "t_" + System.currentTimeMillis() / 1000 + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
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

  private static boolean staleSchemasDropped;

  private static synchronized void dropStaleSchemasOnce(Statement statement) throws SQLException {
    if (staleSchemasDropped) {
      return;
    }
    staleSchemasDropped = true;
    long dayAgo = System.currentTimeMillis() / 1000 - 86_400;
    List<String> stale = new java.util.ArrayList<>();
    try (java.sql.ResultSet schemas =
        statement.executeQuery("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'")) {
      while (schemas.next()) {
        String name = schemas.getString(1);
        String[] parts = name.split("_");
        // Older runs named schemas t_<random hex>: those are stale too.
        if (parts.length != 3 || !parts[1].matches("\\d+") || Long.parseLong(parts[1]) < dayAgo) {
          stale.add(name);
        }
      }
    }
    for (String name : stale) {
      statement.execute("DROP SCHEMA IF EXISTS " + name + " CASCADE");
    }
  }
}
