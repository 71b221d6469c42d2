package dev.clickstream.store;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * Checks an online store before a pipeline starts, so that a wrong URL, a missing database or a host that does not
 * exist fails in seconds with what to fix, instead of in the pipeline's writers after their retry budget (minutes).
 * The writers keep their long retries for outages that begin after the start.
 */
public final class StorePreflight {
  /** How long the check waits for the database to answer. */
  static final int TIMEOUT_SECONDS = 5;

  private StorePreflight() {}

  /**
   * Null when a connection to {@code jdbcUrl} can be opened within {@value #TIMEOUT_SECONDS} s; otherwise what is
   * wrong and what to do, as a phrase that completes "the online store URL ...". Never shows a credential.
   */
  public static String problem(String jdbcUrl) {
    Dialect dialect;
    try {
      dialect = Dialect.fromJdbcUrl(jdbcUrl);
    } catch (IllegalArgumentException e) {
      return "is not supported: " + e.getMessage();
    }
    ConnectionPools.createH2Directory(jdbcUrl);
    ConnectionPools.registerDriver(dialect);
    Properties properties = new Properties();
    String password = ConnectionPools.passwordFor(jdbcUrl, System.getenv());
    if (password != null) {
      properties.setProperty("password", password);
    }
    if (dialect == Dialect.POSTGRESQL) {
      properties.setProperty("connectTimeout", String.valueOf(TIMEOUT_SECONDS));
      properties.setProperty("loginTimeout", String.valueOf(TIMEOUT_SECONDS));
      properties.setProperty("socketTimeout", String.valueOf(2 * TIMEOUT_SECONDS));
    } else if (dialect == Dialect.MARIADB) {
      properties.setProperty("connectTimeout", String.valueOf(TIMEOUT_SECONDS * 1000));
      properties.setProperty("socketTimeout", String.valueOf(2 * TIMEOUT_SECONDS * 1000));
    }
    try (Connection connection = DriverManager.getConnection(
        ConnectionPools.driverUrl(jdbcUrl, 2L * TIMEOUT_SECONDS * 1000), properties)) {
      return connection.isValid(TIMEOUT_SECONDS) ? null : "does not answer a query within " + TIMEOUT_SECONDS + " s";
    } catch (SQLException e) {
      return describe(e, dialect);
    }
  }

  private static String describe(SQLException e, Dialect dialect) {
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    Throwable unknownHost = cause(e, UnknownHostException.class);
    if (unknownHost != null) {
      return "names a host that does not resolve (" + unknownHost.getMessage() + "): check the host in the URL";
    }
    if (state.startsWith("28")) {
      return "refused the user or password (" + firstLine(e) + "): check user= in the URL, and the password in"
          + " the environment variable " + ConnectionPools.PASSWORD_VARIABLE;
    }
    if (state.equals("3D000") || (dialect == Dialect.MARIADB && e.getErrorCode() == 1049)) {
      return "names a database that does not exist (" + firstLine(e) + "): create it (PostgreSQL: createdb NAME;"
          + " MariaDB: CREATE DATABASE NAME) or name one that exists";
    }
    if (cause(e, ConnectException.class) != null || cause(e, NoRouteToHostException.class) != null) {
      return "cannot be reached: nothing accepts connections at its host and port (" + firstLine(e) + "). Is the"
          + " database running? (./scripts/start-services.sh starts the local PostgreSQL and MariaDB)";
    }
    if (cause(e, SocketTimeoutException.class) != null || state.startsWith("08")) {
      return "did not answer within " + TIMEOUT_SECONDS + " s (" + firstLine(e) + "): check the host, the port"
          + " and the network";
    }
    return "cannot be opened: " + firstLine(e) + " (SQLState " + (state.isEmpty() ? "none" : state) + ")";
  }

  private static String firstLine(Throwable e) {
    String message = e.getMessage();
    if (message == null || message.isBlank()) {
      return e.getClass().getSimpleName();
    }
    int newline = message.indexOf('\n');
    return JdbcUrls.redacted((newline < 0 ? message : message.substring(0, newline)).trim());
  }

  private static Throwable cause(Throwable e, Class<? extends Throwable> type) {
    for (Throwable current = e; current != null; current = current.getCause()) {
      if (type.isInstance(current)) {
        return current;
      }
    }
    return null;
  }
}
