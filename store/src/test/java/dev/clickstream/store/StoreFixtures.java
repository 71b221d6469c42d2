package dev.clickstream.store;

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

  private StoreFixtures() {}

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

  /** A new schema in the local PostgreSQL; fails loudly, with what to do, when PostgreSQL is not running. */
  public static String freshPostgresUrl() {
    String schema = "t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    try (Connection connection = DriverManager.getConnection(POSTGRES_BASE_URL);
        Statement statement = connection.createStatement()) {
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
}
